"""`python -m tes_contract`."""

from tes_contract.cli import main

main()
