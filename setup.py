"""recogenre: offline music-genre tagging for whole catalogues with Apache Beam.

Runtime versions are pinned exactly so that the launcher and every Beam
worker (which installs this package through ``--setup_file``) run the same
code; ``requirements.lock`` pins the rest of the tree for local installs.
"""

from setuptools import find_packages, setup

LAYOUT_FOLDERS = ("pipeline", "transforms", "apps", "analysis")
SUBPACKAGES = [pattern for folder in LAYOUT_FOLDERS for pattern in (folder, f"{folder}.*")]

INSTALL_REQUIRES = [
    "apache-beam==2.77.0",
    # Without Beam's GCP extra, every Beam import (launcher and each worker) warns "apitools not
    # found", and that first root warning turns on the workers' INFO logs: 6 MB keep runs quiet.
    "google-apitools==0.5.31",
    "openvino==2026.4.1",  # the default backend: built from the HDF5 weights, no TensorFlow anywhere
    "h5py==3.14.0",
    "librosa==0.11.0",
    "soundfile==0.14.0",
    "soxr==1.1.0",
    "av==18.1.0",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "pyarrow==25.0.1",
    "matplotlib==3.11.2",  # report, classify --plot, evaluate charts (Agg backend)
    "waitress==3.0.2",  # recogenre serve: production WSGI server, pure Python
    "multipart==2.0.1",  # recogenre serve: streaming multipart/form-data parser
    "mutagen==1.48.1",  # recogenre tag: genres written into the files' own tags
    "scikit-learn==1.9.1",  # recogenre train: the user's classifier head (already pulled in by librosa)
    # --runner dask (pipeline/dask_runner.py is written for exactly these versions).
    "apache-beam[dask]==2.77.0",
    "dask==2026.8.0",
    "distributed==2026.8.0",
]

# Weights (issue 21): the published GTZAN weights travel as package data (recogenre/weights),
# and what only some users need is an extra, so a plain install carries no TensorFlow.
WEIGHTS_PACKAGE = {"recogenre.weights": "weights"}
WEIGHTS_DATA = {"recogenre.weights": ["crnn_gtzan_keras1.h5", "LICENSE.crnn_gtzan_keras1", "README.md"]}
KERAS_EXTRA = ["tensorflow-cpu==2.21.0", "keras==3.15.1"]  # --backend keras, .keras models, the tests
# The beets plugin (issue 22): beets imports `plugins: recogenre` as beetsplug.recogenre, so the
# wheel's second top-level name is beets' PEP 420 namespace package (no __init__.py, shared with
# beets and every other plugin); it holds only beetsplug/recogenre.py.
BEETS_PLUGIN = {"beetsplug": "beetsplug"}
GCP_EXTRA = ["apache-beam[gcp]==2.77.0"]  # --runner DataflowRunner, gs:// paths
# --precision int8: NNCF quantises the OpenVINO model once per machine (~30 MB with networkx).
INT8_EXTRA = ["nncf==3.4.0"]

setup(
    name="recogenre",
    version="0.1.0",
    description="Offline music-genre tagging for catalogues: a Beam pipeline around the GTZAN CRNN",
    python_requires=">=3.11,<3.13",
    # The repository keeps pipeline/, transforms/, apps/ and analysis/ at its top (the project's
    # layout); installed, they live under the recogenre namespace so that no generic
    # top-level name (pipeline, transforms) can clash with another package.
    packages=["recogenre", "recogenre.commands",
              *(f"recogenre.{p}" for p in find_packages(include=SUBPACKAGES)), *WEIGHTS_PACKAGE,
              *BEETS_PLUGIN],
    package_dir={"recogenre": "recogenre", **{f"recogenre.{p}": p for p in LAYOUT_FOLDERS}}
    | WEIGHTS_PACKAGE | BEETS_PLUGIN,
    # The weights with their licence, and the pages' HTML, CSS and JavaScript (apps/static/,
    # read with importlib.resources).
    package_data=WEIGHTS_DATA | {"recogenre.apps": ["static/*"]},
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # selenium: the upload page and the report driven in a real headless Chromium; beets: its
        # plugin (beetsplug/recogenre.py) and the beets label source tested on a real beets library.
        "test": ["pytest==9.2.0", "ruff==0.17.6", "selenium==4.51.0", "beets==2.14.1"],
        "keras": KERAS_EXTRA,
        "gcp": GCP_EXTRA,
        "int8": INT8_EXTRA,
    },
    entry_points={"console_scripts": ["recogenre=recogenre.cli:main"]},
)
