"""`python -m redundancy ...`: the pipeline stages from a command line."""

from .cli import main

raise SystemExit(main())
