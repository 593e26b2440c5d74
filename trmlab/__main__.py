"""`python -m trmlab ...`, and `torchrun --nproc_per_node=N -m trmlab train ...`."""
import sys

from .cli import main

sys.exit(main())
