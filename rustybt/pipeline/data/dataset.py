"""DataSet, Column and BoundColumn: the loadable inputs of a pipeline.

Declare a dataset as a class of :class:`Column` attributes; accessing one on the class gives a (memoized)
:class:`BoundColumn` term, e.g. ``EquityPricing.close``. ``BoundColumn.latest`` is the most recent value as a
Factor (numbers and datetimes), Filter (bools) or Classifier (int64 codes and strings).

A dataset is generic (usable on any domain) unless it sets ``domain``; ``MyData.specialize(US_EQUITIES)`` makes
the domain-specific version (the engine does this for generic columns when it runs a pipeline).
"""

from __future__ import annotations

from typing import Any

from rustybt.pipeline.domain import GENERIC, Domain
from rustybt.pipeline.dtypes import float64_dtype, normalize_dtype
from rustybt.pipeline.errors import NoDefaultMissingValue
from rustybt.pipeline.sentinels import NotSpecified
from rustybt.pipeline.term import AssetExists, LoadableTerm, validate_dtype

__all__ = ["BoundColumn", "Column", "DataSet"]


class Column:
    """An abstract column of data, not yet bound to a dataset.

    Parameters
    ----------
    dtype
        float64, int64 (needs ``missing_value``), bool, datetime64[ns] or object/str (strings).
    missing_value
        Value meaning "no data" (defaults: NaN, NaT, False, None).
    """

    def __init__(self, dtype, missing_value: Any = NotSpecified, doc: str | None = None, metadata=None,
                 currency_aware: bool = False) -> None:  # fmt: skip
        dtype = normalize_dtype(dtype)
        if currency_aware and dtype != float64_dtype:
            raise ValueError(
                f"Columns cannot be constructed with currency_aware={currency_aware}, dtype={dtype}. Currency aware "
                "columns must have a float64 dtype."
            )
        self.dtype = dtype
        self.missing_value = missing_value
        self.doc = doc
        self.metadata = dict(metadata) if metadata is not None else {}
        self.currency_aware = currency_aware

    def bind(self, name: str) -> _BoundColumnDescr:
        return _BoundColumnDescr(self.dtype, self.missing_value, name, self.doc, self.metadata, self.currency_aware)


class _BoundColumnDescr:
    """Descriptor on a DataSet class returning the BoundColumn for the class it is accessed on."""

    def __init__(self, dtype, missing_value, name, doc, metadata, currency_aware) -> None:
        try:
            self.dtype, self.missing_value = validate_dtype(f"Column(name={name!r})", dtype, missing_value)
        except NoDefaultMissingValue:
            raise NoDefaultMissingValue(
                f"Failed to create Column with name {name!r} and dtype {dtype} because no missing_value was "
                f"provided\n\nColumns with dtype {dtype} require a missing_value.\nPlease pass missing_value to "
                "Column() or use a different dtype."
            ) from None
        self.name = name
        self.doc = doc
        self.metadata = metadata
        self.currency_aware = currency_aware

    def __get__(self, instance, owner):
        return BoundColumn(
            dtype=self.dtype,
            missing_value=self.missing_value,
            dataset=owner,
            name=self.name,
            doc=self.doc,
            metadata=self.metadata,
            currency_aware=self.currency_aware,
        )


def _latest_hint(self, *args):
    raise TypeError(f"Can't use {self.qualname} in an expression. (Did you mean to use '.latest'?)")


class BoundColumn(LoadableTerm):
    """A column of a specific dataset: a loadable pipeline term (window-safe)."""

    mask = AssetExists()
    window_safe = True

    def __new__(cls, dtype, missing_value, dataset, name, doc, metadata, currency_aware=False):
        return super().__new__(
            cls,
            domain=dataset.domain,
            dtype=dtype,
            missing_value=missing_value,
            dataset=dataset,
            name=name,
            ndim=dataset.ndim,
            doc=doc,
            metadata=metadata,
            currency_aware=currency_aware,
        )

    def _init(self, dataset, name, doc, metadata, currency_aware, **kwargs):
        self._dataset = dataset
        self._name = name
        self.__doc__ = doc
        self._metadata = metadata
        self._currency_aware = currency_aware
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, dataset, name, doc, metadata, currency_aware, **kwargs):
        return (
            super()._static_identity(**kwargs),
            dataset,
            name,
            doc,
            frozenset(sorted(metadata.items(), key=lambda kv: kv[0])),
            currency_aware,
        )

    __lt__ = __gt__ = __le__ = __ge__ = _latest_hint
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _latest_hint
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _latest_hint

    def _replace(self, **kwargs) -> BoundColumn:
        kw = {
            "dtype": self.dtype,
            "missing_value": self.missing_value,
            "dataset": self._dataset,
            "name": self._name,
            "doc": self.__doc__,
            "metadata": self._metadata,
            "currency_aware": self._currency_aware,
        }
        kw.update(kwargs)
        return type(self)(**kw)

    def specialize(self, domain: Domain) -> BoundColumn:
        """This column on the dataset specialized to ``domain``."""
        if domain == self.domain:
            return self
        return self._replace(dataset=self._dataset.specialize(domain))

    def unspecialize(self) -> BoundColumn:
        """The generic version of this column."""
        return self.specialize(GENERIC)

    @property
    def dataset(self):
        return self._dataset

    @property
    def name(self) -> str:
        return self._name

    @property
    def metadata(self) -> dict:
        return dict(self._metadata)

    @property
    def currency_aware(self) -> bool:
        return self._currency_aware

    @property
    def qualname(self) -> str:
        return f"{self.dataset.qualname}.{self.name}"

    @property
    def latest(self):
        """The most recent value: a Factor, Filter or Classifier depending on the dtype."""
        from rustybt.pipeline.classifiers import Classifier
        from rustybt.pipeline.classifiers import Latest as LatestClassifier
        from rustybt.pipeline.factors import Factor
        from rustybt.pipeline.factors import Latest as LatestFactor
        from rustybt.pipeline.filters import Filter
        from rustybt.pipeline.filters import Latest as LatestFilter

        if self.dtype in Filter.ALLOWED_DTYPES:
            latest = LatestFilter
        elif self.dtype in Classifier.ALLOWED_DTYPES:
            latest = LatestClassifier
        else:
            assert self.dtype in Factor.ALLOWED_DTYPES, f"Unknown dtype {self.dtype}."
            latest = LatestFactor
        return latest(inputs=(self,), dtype=self.dtype, missing_value=self.missing_value, ndim=self.ndim)

    def __repr__(self) -> str:
        return f"{self.qualname}::{self.dtype.name}"

    def graph_repr(self) -> str:
        return f"BoundColumn:\\l  Dataset: {self.dataset.__name__}\\l  Column: {self.name}\\l"

    def recursive_repr(self) -> str:
        return self.qualname


class DataSetMeta(type):
    """Binds Column attributes to their names and manages a dataset's family of domain specializations."""

    def __new__(mcls, name, bases, dict_):
        if len(bases) > 1:
            raise TypeError("Multiple dataset inheritance is not supported.")
        is_specialization = dict_.pop("_is_specialization", False)
        newtype = super().__new__(mcls, name, bases, dict_)
        if not isinstance(newtype.domain, Domain):
            raise TypeError(f"Expected a Domain for {newtype.__name__}.domain, but got {type(newtype.domain)} instead.")
        column_names = set().union(*(getattr(base, "_column_names", ()) for base in bases))
        for attr, value in dict_.items():
            if isinstance(value, Column):
                setattr(newtype, attr, value.bind(attr))
                column_names.add(attr)
        newtype._column_names = frozenset(column_names)
        if not is_specialization:
            newtype._domain_specializations = {newtype.domain: newtype}
        return newtype

    def specialize(cls, domain: Domain):
        """This dataset on ``domain`` (memoized)."""
        if not isinstance(domain, Domain):
            raise TypeError(f"specialize() expected a Domain, got {type(domain).__name__}")
        if domain == cls.domain:
            return cls
        family = cls._family_root()
        try:
            return family._domain_specializations[domain]
        except KeyError:
            pass
        if domain is not GENERIC and (family.domain is not GENERIC or cls is not family):
            raise ValueError(f"Can't specialize {cls.__name__} from {cls.domain} to new domain {domain}.")
        new_type = type(cls)(family.__name__, (family,), {"domain": domain, "_is_specialization": True})
        new_type.__module__ = family.__module__
        family._domain_specializations[domain] = new_type
        return new_type

    def _family_root(cls):
        for klass in cls.__mro__:
            if "_domain_specializations" in vars(klass):
                return klass
        return cls

    def unspecialize(cls):
        """The generic version of this dataset."""
        return cls.specialize(GENERIC)

    @property
    def columns(cls) -> frozenset:
        return frozenset(getattr(cls, name) for name in cls._column_names)

    @property
    def qualname(cls) -> str:
        if cls.domain is GENERIC:
            return cls.__name__
        code = cls.domain.country_code
        return f"{cls.__name__}<{code if code else repr(cls.domain)}>"

    def __lt__(cls, other):
        return id(cls) < id(other)

    def __repr__(cls) -> str:
        return f"<DataSet: {cls.__name__!r}, domain={cls.domain}>"


class DataSet(metaclass=DataSetMeta):
    """Base class of pipeline datasets: subclass it with :class:`Column` attributes.

    ::

        class CompanyMetadata(DataSet):
            shares_outstanding = Column(float)
            ticker = Column(object)
            sector_code = Column(int, missing_value=-1)
            is_primary_share = Column(bool)
    """

    domain = GENERIC
    ndim = 2

    @classmethod
    def get_column(cls, name: str) -> BoundColumn:
        """The column called ``name``; AttributeError listing the choices if there is none."""
        if name not in cls._column_names:
            choices = "\n".join(f"  - {c}" for c in sorted(cls._column_names))
            raise AttributeError(f"{cls.qualname} has no column {name!r}:\n\nPossible choices are:\n{choices}")
        return getattr(cls, name)


del DataSet._domain_specializations
