"""Install tfrobust: `pip install -e ".[dev,jax]"` (the Makefile does this)."""

from setuptools import find_packages
from setuptools import setup

setup(
    name="tfrobust",
    version="0.1.0",
    description="Adversarially robust image classifiers for Keras 3: defenses, attacks, zoo.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The zoo's index (cards, recipes, evaluations, checksums and URLs of the weights)
    # ships as `tfrobust.zoo.index`; the weights themselves are downloaded on first use.
    packages=[*find_packages(include=["tfrobust", "tfrobust.*"]), "tfrobust.zoo.index"],
    package_dir={"tfrobust.zoo.index": "models"},
    package_data={
        "tfrobust.data": ["sample/SHA256SUMS", "sample/*/*"],
        "tfrobust.zoo": ["site_assets/*"],
        "tfrobust.zoo.index": [
            "tables.yaml",
            "README.md",
            *(
                f"*/*/{name}"
                for name in (
                    "weights.json",
                    "recipe.yaml",
                    "eval.json",
                    "eval.md",
                    "MODEL_CARD.md",
                    "robust_accuracy.png",
                    "training_time.json",
                )
            ),
        ],
    },
    exclude_package_data={"tfrobust.zoo.index": ["pending/*/*"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<3.16",
        "tensorflow-datasets>=4.9,<5",
        "tensorboard>=2.21,<2.22",
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "pillow>=10,<14",
        "pyyaml>=6,<7",
        "matplotlib>=3.8,<4",
        "rich>=13,<16",
        "markdown>=3.4,<4",  # model cards on the leaderboard site
        "importlib_resources>=6",  # tensorflow-datasets imports it but does not require it
    ],
    extras_require={
        "jax": ["jax[cpu]>=0.4.30,<0.11"],
        "dev": [
            "pytest>=8,<10",
            "pytest-xdist>=3,<4",
            "hypothesis>=6,<7",
            "adversarial-robustness-toolbox>=1.17,<2",
            "ruff>=0.17,<0.18",  # `make lint`; pinned so that `ruff format` does not drift
        ],
        # Optional cross-check and benchmark against AutoAttack's reference code
        # (PyTorch; benchmarks/autoattack_vs_reference.py). torchattacks and
        # pyautoattack are installed with --no-deps (see benchmarks/README.md);
        # foolbox pulls eagerpy and GitPython.
        "crosscheck": ["torch>=2", "torchattacks>=3.5,<4", "pyautoattack==0.2.0", "foolbox==3.3.4"],
    },
    entry_points={"console_scripts": ["tfrobust=tfrobust.cli.main:main"]},
)
