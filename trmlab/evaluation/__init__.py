from .evaluate import EvalResult, board_samples, evaluate

__all__ = ["EvalResult", "board_samples", "evaluate"]
