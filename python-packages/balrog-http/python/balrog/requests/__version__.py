"""Version metadata. ``__version__`` is the requests version whose behaviour is mirrored
(code checks it); ``__balrog_version__`` is this package's own."""

__title__ = "requests"
__description__ = "Python HTTP for Humans (balrog: on reqwest, blocking and green)."
__url__ = "https://requests.readthedocs.io"
__version__ = "2.34.2"
__build__ = 0x023402
__author__ = "balrog"
__license__ = "Apache-2.0"
__balrog_version__ = "0.1.0"
