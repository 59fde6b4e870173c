"""`python -m xl_lesson3.pets ...` (and `torchrun --nproc_per_node N -m xl_lesson3.pets train ...`)."""

from xl_lesson3.pets.cli import main

raise SystemExit(main())
