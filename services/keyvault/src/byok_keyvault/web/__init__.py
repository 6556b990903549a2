"""The provider-keys page at /keys: static HTML, CSS and JS that call the JSON API with a bearer token."""

from .headers import SecurityHeaders, parse_frame_ancestors
from .page import mount_keys_page

__all__ = ["SecurityHeaders", "mount_keys_page", "parse_frame_ancestors"]
