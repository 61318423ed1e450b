"""OOXML names shared by the parts of perfxl that read or write packages directly (annotate,
the add-in builder): namespaces, relationship types and content types."""

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "[Content_Types].xml"

REL_DOCUMENT = R + "/officeDocument"
REL_WORKSHEET = R + "/worksheet"
REL_STYLES = R + "/styles"

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
