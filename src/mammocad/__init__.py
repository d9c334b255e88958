"""mammocad: computer-aided diagnosis of breast lesions on mammograms.

An open implementation of the pipeline of Wang et al., *Discrimination of Breast
Cancer with Microcalcifications on Mammography by Deep Learning* (Sci. Rep. 2016):
read → segment → features → model → evaluate/report.
"""

from mammocad.errors import MammocadError

__version__ = "0.1.0"

__all__ = ["MammocadError", "__version__"]
