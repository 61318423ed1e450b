"""The Excel ribbon add-in: ``perfxl.xlam`` (and ``perfxl_template.xltm``) built from the VBA
and ribbon sources in ``xlmacros/``.

- ``cfb``: an MS-CFB compound file writer (the container of ``vbaProject.bin``);
- ``ovba``: MS-OVBA compression and the PROJECT stream's data encryption;
- ``vba``: the VBA project: modules, ``dir``, ``PROJECT``, ``PROJECTwm``, ``_VBA_PROJECT``;
- ``build``: the OOXML packages, and installing the add-in into Excel's XLSTART folder.
"""

from .build import ADDIN_NAME, TEMPLATE_NAME, Built, Installed, build_addin, install_addin

__all__ = [
    "ADDIN_NAME", "TEMPLATE_NAME", "Built", "Installed", "build_addin", "install_addin",
]
