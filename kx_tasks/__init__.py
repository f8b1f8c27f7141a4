"""kx: reproductions of Scientific Spaces (kexue.fm) posts as Snakemake task plugins.

The package never touches Snakemake's globals, so everything here can be imported and tested alone.
"""

__version__ = "0.1.0"
