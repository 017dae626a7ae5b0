"""redundancy: the shared library of the book reproducing arXiv:2409.16302.

How redundant is the transformer stack in speech representation models? Each submodule does one
stage of the pipeline (see DESIGN.md); the notebooks call them.
"""

__version__ = "0.1.0"
