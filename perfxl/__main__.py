from perfxl.cli import run

run()
