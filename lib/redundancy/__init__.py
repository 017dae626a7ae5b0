"""redundancy: the shared library of the book reproducing arXiv:2409.16302.

How redundant is the transformer stack in speech representation models? Each submodule does one
stage of the pipeline (see DESIGN.md); the notebooks call them.
"""

import warnings

__version__ = "0.1.0"

# transformers imports tqdm.auto, which warns in every notebook kernel that lacks ipywidgets. The
# book deliberately uses plain-text progress bars (they render in the static book), so the warning
# is noise; it would also leak machine-specific paths into checked notebook outputs.
warnings.filterwarnings("ignore", message="IProgress not found")

