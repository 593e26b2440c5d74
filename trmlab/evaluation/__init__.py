from .cost import answer_cost
from .evaluate import EvalResult, board_samples, evaluate

__all__ = ["EvalResult", "answer_cost", "board_samples", "evaluate"]
