import sys

from echobench.cli import main

sys.exit(main())
