import sys

from makercloud.cli import main

sys.exit(main())
