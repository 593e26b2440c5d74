"""beyond-cpu (issue 35): its protocol, and a maze study read in 2-D end to end: one looped model
trained on small boards is evaluated on bigger ones, its cost counted, the LSTM beside it."""
from trmlab.config import DataConfig, RunConfig, TrainConfig
from trmlab.study import ModelSpec, StudyConfig, TaskSpec, load_study
from trmlab.study.run import run_study

from .conftest import tiny_reasoner_config


def test_the_preset_sorts_to_8x_and_reads_mazes_in_2d_to_4x():
    study = load_study("beyond-cpu")
    sort, maze = study.tasks
    assert sort.data["knobs"]["ood_difficulty"] == [32, 32] and set(sort.eval_sets) == {"4x", "8x"}
    assert sort.data["max_question_len"] == 128 and sort.model["loops_per_token"] == 1.0
    assert maze.data["knobs"] == {"size": 9, "ood_size": 18} and maze.eval_sets["4x"]["knobs"] == {"ood_size": 36}
    assert maze.model["grid_2d"] and maze.data["max_question_len"] == 36 * 36
    assert "transformer" not in maze.models  # an LM would write the whole board after it
    assert next(m for m in study.models if m.name == "looped").seeds == [0, 1, 2, 3, 4]
    assert all(m.overrides["read_first"] for m in study.models if m.kind == "recurrent")  # a sort needs the whole input
    for task in study.tasks:  # the loop's positions hold the largest eval set's question and its registers
        model = study.task_base(task).model
        assert model.max_positions >= task.data["max_question_len"] + model.n_registers


def test_a_maze_study_evaluates_bigger_boards_than_it_trained_on(tmp_path, capsys):
    model = tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1, window=1, grid_2d=True,
                                 loops_per_token=0.125, n_heads=2)
    base = RunConfig(name="maze2d", model=model,
                     data=DataConfig(task="maze", answer_len=0, n_train=32, n_dev=8, n_test=8, n_ood=8,
                                     max_question_len=169, knobs={"size": 9, "ood_size": 11, "augment": False}),
                     train=TrainConfig(steps=2, batch_size=8, warmup=1, eval_every=2, checkpoint_every=2,
                                       precision="fp32", threads=1))
    task = TaskSpec("maze", eval_sets={"13x13": {"knobs": {"ood_size": 13}, "split": "ood", "n": 4, "steps": 48}})
    study = StudyConfig("maze2d", base, [task], [ModelSpec("looped"), ModelSpec("lstm", kind="recurrent")],
                        seeds=[0], eval_steps=16)
    cells = {c["model"]: c for c in run_study(study, tmp_path, progress=False)["cells"]}
    looped = cells["looped"]["eval"]
    assert looped["13x13"]["cost"]["steps_per_question"] > looped["test"]["cost"]["steps_per_question"]
    for c in cells.values():
        assert {"test", "ood", "13x13"} <= set(c["eval"]) and 0 <= c["eval"]["13x13"]["accuracy"] <= 1
    # solve reads a board of any side with a model read in 2-D, and refuses one that is not square
    from trmlab.cli import main
    from trmlab.tasks import make_task
    board = make_task("maze", size=9, ood_size=13, augment=False).examples("ood", 1)[0].question
    run = tmp_path / "maze2d" / "maze" / "looped" / "seed0"
    assert main(["solve", str(run), board, "--steps", "2"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert sum(len(line.strip()) == 13 for line in shown) >= 2 * 13  # two steps, each a 13 x 13 board
    assert main(["solve", str(run), board[:-1]]) != 0
    assert "square boards of any side" in capsys.readouterr().err
