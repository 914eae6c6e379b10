"""What hardware and software the emulated platform offers: coretypes, analyses, compute prices.

Modelled on the service's shapes (PLATFORM-V2.md): a coretype lists the ``cores`` counts a
job may ask for per slot (above one node's cores, a slot spans several nodes); an analysis
lists versions by ``versionCode`` (``user_included`` version ``"0"`` brings its own software),
some restricted to ``allowedCoreTypes``. Prices are per core-hour, as decimal strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANALYSES",
    "CORETYPES",
    "Analysis",
    "CoreType",
    "analysis_document",
    "coretype_document",
    "price_documents",
]


@dataclass(frozen=True)
class CoreType:
    """One hardware type; ``node_cores`` is what one node has (a job's slot may span nodes)."""

    code: str
    name: str
    processor: str
    node_cores: int
    cores: tuple[int, ...]
    memory: int
    """MB per core."""
    storage: int
    """GB per node."""
    categories: tuple[str, ...]
    price: str
    low_priority_price: str
    is_active: bool = True
    gpus: int = 0
    description: str = ""

    def nodes_per_slot(self, cores_per_slot: int) -> int:
        """Nodes one slot of ``cores_per_slot`` cores spans."""
        return max(1, -(-cores_per_slot // self.node_cores))


CORETYPES: tuple[CoreType, ...] = (
    CoreType(
        "granite", "Granite", "AMD EPYC 7R13 (Milan)", 64, (2, 4, 8, 16, 32, 64, 128),
        4000, 100, ("general",), "0.0375", "0.0150",
    ),
    CoreType(
        "emerald", "Emerald", "Intel Xeon Platinum 8375C (Ice Lake)", 32, (1, 2, 4, 8, 16, 32),
        4000, 80, ("general",), "0.0450", "0.0180",
    ),
    CoreType(
        "emerald_max", "Emerald Max", "Intel Xeon Platinum 8375C (Ice Lake)", 64,
        (4, 8, 16, 32, 64, 128, 256), 8000, 200, ("general", "memory"), "0.0610", "0.0250",
    ),
    CoreType(
        "onyx", "Onyx", "Intel Xeon Platinum 8488C (Sapphire Rapids)", 96,
        (12, 24, 48, 96, 192, 384), 2000, 100, ("compute",), "0.0520", "0.0210",
    ),
    CoreType(
        "nickel", "Nickel", "Intel Xeon Gold 6248R (Cascade Lake)", 24, (1, 2, 4, 8, 12, 24),
        2000, 40, ("general", "compute"), "0.0330", "0.0130",
    ),
    CoreType(
        "carbon", "Carbon", "AMD EPYC 9R14 (Genoa)", 96, (16, 32, 48, 96, 192, 384, 768),
        4000, 200, ("compute",), "0.0490", "0.0200",
    ),
    CoreType(
        "marble", "Marble", "AMD EPYC 7R32 (Rome)", 48, (2, 4, 8, 16, 24, 48),
        16000, 200, ("memory",), "0.0780", "0.0310",
    ),
    CoreType(
        "jade", "Jade", "Intel Xeon Platinum 8259CL (Cascade Lake)", 48, (6, 12, 24, 48, 96),
        32000, 400, ("memory",), "0.1100", "0.0440",
    ),
    CoreType(
        "titanium", "Titanium", "AWS Graviton3", 64, (1, 2, 4, 8, 16, 32, 64),
        2000, 60, ("general", "arm"), "0.0290", "0.0110",
    ),
    CoreType(
        "luna", "Luna", "Intel Xeon Platinum 8275CL + NVIDIA A100", 96, (12, 24, 48, 96),
        12000, 800, ("gpu",), "0.4200", "0.1700", gpus=8,
    ),
    CoreType(
        "aurora", "Aurora", "AMD EPYC 7R32 + NVIDIA A10G", 8, (4, 8),
        16000, 450, ("gpu", "visualization"), "0.1580", "0.0630", gpus=1,
    ),
    CoreType(
        "pyrite", "Pyrite", "Intel Xeon E5-2666 v3 (Haswell)", 16, (1, 2, 4, 8, 16),
        3750, 32, ("general",), "0.0600", "0.0240", is_active=False,
        description="Retired: use Emerald",
    ),
)  # fmt: skip
"""A dozen coretypes, one of them inactive."""


@dataclass(frozen=True)
class AnalysisVersion:
    version: str
    """The display name (``"2023 R2"``)."""
    code: str
    """The ``versionCode`` a job names."""
    allowed_coretypes: tuple[str, ...] = ()
    """Coretype codes the version runs on; empty: every coretype."""


@dataclass(frozen=True)
class Analysis:
    """One software tile."""

    code: str
    name: str
    vendor: str
    versions: tuple[AnalysisVersion, ...]
    industries: tuple[str, ...] = ()
    license_settings: tuple[str, ...] = ()
    """Names of the license environment variables the tile reads."""


_GENERAL = ("granite", "emerald", "emerald_max", "nickel", "titanium")
_CPU = ("granite", "emerald", "emerald_max", "onyx", "nickel", "carbon", "marble", "jade")

ANALYSES: tuple[Analysis, ...] = (
    Analysis(
        "user_included",
        "Bring Your Own Software",
        "Rescale",
        (AnalysisVersion("0", "0"),),
    ),
    Analysis(
        "ansys_fluent",
        "ANSYS Fluent",
        "ANSYS",
        (
            AnalysisVersion("2019 R1", "2019r1", _CPU),
            AnalysisVersion("2023 R2", "2023r2", _CPU),
            AnalysisVersion("2024 R1", "2024r1", _CPU),
        ),
        ("Aerospace", "Automotive"),
        ("ANSYSLI_SERVERS", "ANSYSLMD_LICENSE_FILE"),
    ),
    Analysis(
        "openfoam",
        "OpenFOAM",
        "OpenCFD",
        (
            AnalysisVersion("v2206", "v2206-openmpi"),
            AnalysisVersion("v2312", "v2312-openmpi"),
        ),
        ("Automotive",),
    ),
    Analysis(
        "lsdyna",
        "LS-DYNA",
        "Ansys (LST)",
        (
            AnalysisVersion("R13.1 MPP", "13.1-mpp", _CPU),
            AnalysisVersion("R14.0 MPP", "14.0-mpp", _CPU),
        ),
        ("Automotive",),
        ("LSTC_LICENSE_SERVER",),
    ),
    Analysis(
        "python",
        "Python",
        "Python Software Foundation",
        (
            AnalysisVersion("3.10", "3.10", _GENERAL),
            AnalysisVersion("3.11", "3.11", _GENERAL),
        ),
    ),
    Analysis(
        "tensorflow",
        "TensorFlow",
        "Google",
        (AnalysisVersion("2.15 GPU", "2.15-gpu", ("luna", "aurora")),),
        ("Machine Learning",),
    ),
)
"""Bring Your Own Software and a few tiles with versions."""


def coretype_document(core: CoreType) -> dict[str, Any]:
    """A coretype as ``GET coretypes/`` lists it."""
    return {
        "code": core.code,
        "name": core.name,
        "description": core.description,
        "displayOrder": CORETYPES.index(core) if core in CORETYPES else 0,
        "processorInfo": core.processor,
        "cores": list(core.cores),
        "memory": core.memory,
        "storage": core.storage,
        "storageIo": "SSD",
        "networkInfo": "Up to 100 Gbps",
        "gpuCount": core.gpus,
        "categoryCodes": list(core.categories),
        "price": core.price,
        "lowPriorityPrice": core.low_priority_price,
        "isActive": core.is_active,
        "isDefault": core.code == "emerald",
        "isDeprecated": not core.is_active,
        "mustBeRequested": False,
    }


def analysis_document(analysis: Analysis) -> dict[str, Any]:
    """An analysis as ``GET analyses/`` lists it."""
    return {
        "code": analysis.code,
        "name": analysis.name,
        "description": f"{analysis.name} on Rescale",
        "vendorName": analysis.vendor,
        "industries": [{"name": name} for name in analysis.industries],
        "versions": [
            {
                "id": f"{analysis.code}-{version.code}",
                "version": version.version,
                "versionCode": version.code,
                "allowedCoreTypes": list(version.allowed_coretypes)
                or [core.code for core in CORETYPES if core.is_active],
                "hasShortTimeLicense": False,
                "supportedLicenseTypes": ["user"] if analysis.license_settings else [],
            }
            for version in analysis.versions
        ],
        "licenseSettings": [
            {"name": name, "label": name, "required": True} for name in analysis.license_settings
        ],
        "hasRescaleLicense": False,
        "isActive": True,
    }


_PLANS = (("on-demand", True), ("on-demand-priority", False))
"""Plan types: on-demand economy (the low-priority price) and on-demand priority."""


def price_documents() -> list[dict[str, Any]]:
    """``GET billing/computeprices/``: per coretype, plan and OS, an amount as a decimal string.

    ``on-demand`` (economy, ``isLowPriority``) costs the low-priority price,
    ``on-demand-priority`` the price; Windows costs a quarter more.
    """
    documents: list[dict[str, Any]] = []
    for core in CORETYPES:
        for plan, economy in _PLANS:
            base = float(core.low_priority_price if economy else core.price)
            for os_name, os_factor in (("linux", 1.0), ("windows", 1.25)):
                documents.append(
                    {
                        "coreType": core.code,
                        "planType": plan,
                        "os": os_name,
                        "isActive": core.is_active,
                        "value": {"amount": f"{base * os_factor:.4f}", "currency": "USD"},
                        "unit": "core-hour",
                    }
                )
    return documents
