"""`trmlab demo MODEL`: watch a model think in a web page (Gradio; pip install 'trmlab[demo]').

A text model gets a question box; a grid model (Sudoku, maze) a board box and a pick of
held-out boards. Either way the page shows the answer after every supervision step with
the halting probability (the numbers of `trmlab solve`: both render `think`), the step
where the halting head would stop, and a plot of that probability by step; a slider
runs more steps than training used. A question the model cannot read is a message in
the page, never a stack trace.

`Demo` holds the model and the functions the page calls; it needs no Gradio, so the
page's content is tested without a browser and the browser test checks the wiring.
"""
from __future__ import annotations

import html
from dataclasses import replace

from .evaluation.think import QuestionError, Thinking, grid_shape, think

EXAMPLES = 12  # held-out questions offered in the page


def gradio():
    try:
        import gradio as gr
    except ImportError:
        raise ImportError("trmlab demo needs Gradio: pip install 'trmlab[demo]'") from None
    return gr


class Demo:
    def __init__(self, source: str):
        from .hub import load_any
        self.source = source
        self.model, self.cfg, self.tokenizer, self.meta = load_any(source, device="cpu")
        self.shape = grid_shape(self.cfg)
        m = self.cfg.model
        self.trained_steps = m.trained_steps if m.recursive else 1
        # A size-rule model thinks longer on longer inputs: room for 4x its training sizes.
        self.max_steps = max(4 * self.trained_steps, 64 if getattr(m, "loops_per_token", 0) else 16) if m.recursive else 1
        self.examples = self._held_out()  # {label: (question, answer)}
        self.solutions = {q: a for q, a in self.examples.values()}

    def _held_out(self) -> dict[str, tuple[str, str]]:
        """A few test-split examples (none when the task's data is not on this machine)."""
        from .data import load_splits
        data = replace(self.cfg.data, n_train=0, n_dev=0, n_ood=EXAMPLES, n_test=EXAMPLES)
        try:
            splits = load_splits(data, splits=("test", "ood"), tokenizer=self.tokenizer)[1]
        except (ValueError, OSError):  # e.g. a real-data task without its files here
            return {}
        shown = (lambda q: q[:60] + ("..." if len(q) > 60 else "")) if self.shape is None else (lambda q: "")
        names = {"test": "test", "ood": "harder than training"}
        return {f"{names[s]} #{i + 1} {shown(ex.question)}".strip(): (ex.question, ex.answer)
                for s in ("test", "ood") if s in splits for i, ex in enumerate(splits[s].examples)}

    @property
    def title(self) -> str:
        """The header line: the model, its task and size, and how it was trained (`describe_training`,
        the words of the model card and of `trmlab solve`)."""
        from .model.describe import MODEL_NAMES, describe_training
        m = self.cfg.model
        return (f"{MODEL_NAMES.get(m.kind, m.kind)} on `{self.cfg.data.task}`, {self.meta['params']:,} parameters; "
                f"trained by {describe_training(m)}")

    def answer(self, question: str, steps: int | float | None = None):
        """(HTML of every step, confidence plot or None) for the page; a clear message for bad input."""
        try:
            thinking = think(self.model, self.cfg, self.tokenizer, question or "", int(steps or self.trained_steps))
        except QuestionError as e:
            return f'<div id="trm-error" class="trm-error">Cannot answer: {html.escape(str(e))}.</div>', None
        solution = self.solutions.get(thinking.question)
        body = board_steps_html(thinking, solution) if self.shape else text_steps_html(thinking, solution)
        return halt_summary(thinking) + body, confidence_plot(thinking, self.trained_steps)


def halt_summary(thinking: Thinking) -> str:
    if thinking.steps[0].halt_prob is None:
        return '<p id="trm-halt">This model answers in one pass: it has no halting head.</p>'
    stop = thinking.halt_step
    text = (f"The halting head would stop at step {stop}." if stop else
            f"The halting head would not stop within {len(thinking.steps)} step(s).")
    return f'<p id="trm-halt" data-halt-step="{stop or ""}">{text}</p>'


def text_steps_html(thinking: Thinking, solution: str | None = None) -> str:
    """One row per step; for a held-out question, its answer and a mark on the steps that match it."""
    from .tasks import answers_match
    rows = []
    for s in thinking.steps:
        mark = ' class="trm-stop"' if s.number == thinking.halt_step else ""
        shown = f"<code>{html.escape(s.answer)}</code>" if s.answer else "<i>(empty)</i>"
        if s.slots and not s.ended:  # as `trmlab solve` says it: the decode ran through every slot
            shown += ' <small class="trm-unfinished">(unfinished: no EOS in the answer slots)</small>'
        verdict = "" if solution is None else " ✓" if answers_match(s.answer, solution) else " ✗"
        rows.append(f'<tr{mark}><td class="step">{s.number}</td>'
                    f'<td class="answer" data-answer="{html.escape(s.answer, quote=True)}">{shown}{verdict}</td>'
                    f'<td class="halt">{s.halt_text}</td></tr>')
    expected = (f'<p id="trm-expected">A held-out question; its answer: <code>{html.escape(solution)}</code></p>'
                if solution is not None else "")
    return (expected + '<table id="trm-steps"><thead><tr><th>step</th><th>answer</th><th>halt probability</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def board_steps_html(thinking: Thinking, solution: str | None) -> str:
    """Each step's board; with a known solution (a held-out board) the wrong cells are marked."""
    rows, cols = thinking.grid_shape
    note = ("Cells that differ from the known solution are marked red." if solution else
            "This board is not from the held-out set, so no solution is known and no cell is marked.")
    boards = []
    for s in thinking.steps:
        wrong = sum(a != b for a, b in zip(s.answer, solution)) if solution else 0
        cells = "".join(
            "<tr>" + "".join(_cell(s.answer[i], thinking.question[i], solution[i] if solution else None)
                             for i in range(r * cols, (r + 1) * cols)) + "</tr>" for r in range(rows))
        caption = f"step {s.number}" + (f", halt probability {s.halt_text}" if s.halt_prob is not None else "")
        caption += f", {wrong} wrong cell(s)" if solution else ""
        mark = " trm-stop" if s.number == thinking.halt_step else ""
        boards.append(f'<figure class="trm-board{mark}" data-step="{s.number}" data-wrong="{wrong if solution else ""}">'
                      f'<table>{cells}</table><figcaption>{caption}</figcaption></figure>')
    return f'<p>{note}</p><div id="trm-boards">{"".join(boards)}</div>'


def _cell(predicted: str, given: str, solution: str | None) -> str:
    classes = ["given"] if predicted == given else []
    if solution is not None and predicted != solution:
        classes.append("wrong")
    return f'<td class="{" ".join(classes)}">{html.escape(predicted).replace(" ", "&nbsp;")}</td>'


def confidence_plot(thinking: Thinking, trained_steps: int):
    """Halting probability by step (a matplotlib Figure), or None without a halting head."""
    if thinking.steps[0].halt_prob is None:
        return None
    from matplotlib.figure import Figure  # no pyplot: no global state shared by the server's threads
    from matplotlib.ticker import MaxNLocator
    fig = Figure(figsize=(6, 2.6), dpi=100)
    ax = fig.add_subplot()
    steps = [s.number for s in thinking.steps]
    ax.plot(steps, [s.halt_prob for s in thinking.steps], marker="o")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.axvline(trained_steps, color="grey", linestyle="--", linewidth=1, label=f"trained steps ({trained_steps})")
    if thinking.halt_step:
        ax.axvline(thinking.halt_step, color="tab:red", linewidth=1, label=f"halts (step {thinking.halt_step})")
    ax.set(xlabel="supervision step", ylabel="halt probability", ylim=(-0.02, 1.02))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


CSS = """
.trm-error { color: #b00020; font-weight: 600; }
#trm-steps td, #trm-steps th { padding: 2px 10px; }
#trm-steps tr.trm-stop td { background: #fff3c4; }
#trm-boards { display: flex; flex-wrap: wrap; gap: 12px; }
.trm-board table { border-collapse: collapse; font-family: monospace; }
.trm-board td { width: 1.2em; height: 1.2em; text-align: center; border: 1px solid #ccc; padding: 0; }
.trm-board td.given { color: #888; }
.trm-board td.wrong { background: #f8b4b4; }
.trm-board.trm-stop figcaption { font-weight: 700; }
"""


def build_app(demo: Demo):
    """The Gradio page of a Demo."""
    from .model.describe import step_unit
    gr = gradio()
    grid = demo.shape is not None
    with gr.Blocks(title="trmlab demo", analytics_enabled=False) as app:
        gr.Markdown(f"## Watch it think\n{demo.title}. Source: `{demo.source}`.")
        with gr.Row():
            if grid:
                rows, cols = demo.shape
                label = f"Board: {rows}x{cols} cells, one character per cell, row-major; line breaks are ignored"
            else:
                label = "Question"
            question = gr.Textbox(label=label, lines=demo.shape[0] if grid else 2, elem_id="trm-question")
            example = gr.Dropdown(choices=list(demo.examples), value=None, label="or pick a held-out example",
                                  elem_id="trm-example")
        unit = step_unit(demo.cfg.model).capitalize()
        # Hidden for the LM (one pass); Gradio refuses a slider whose range is a single point.
        steps = gr.Slider(1, max(demo.max_steps, 2), value=demo.trained_steps, step=1, elem_id="trm-steps-slider",
                          label=f"{unit} (training used {demo.trained_steps}; more are allowed)",
                          visible=demo.cfg.model.recursive)
        button = gr.Button("Think", variant="primary", elem_id="trm-think")
        result = gr.HTML(elem_id="trm-result")
        plot = gr.Plot(label="Halting probability by step", elem_id="trm-plot", visible=demo.cfg.model.recursive)
        example.change(lambda label: _board_text(demo.examples[label][0], demo.shape) if label else gr.update(),
                       example, question)
        for event in (button.click, question.submit):
            event(demo.answer, [question, steps], [result, plot])
    return app


def _board_text(question: str, shape) -> str:
    """A held-out question as it goes in the box (a board row by row)."""
    if shape is None:
        return question
    from .tasks.grid.base import render
    return "\n".join(render(question, shape[1]))


def launch(source: str, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serve the demo; with block=False return (app, url) with the server running in a thread."""
    gr = gradio()
    app = build_app(Demo(source))
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])  # no web fonts: works offline
    _, url, _ = app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block,
                           ssr_mode=False, theme=theme, css=CSS, footer_links=[])
    return app, url
