"""One registry idiom: each name registered once; an unknown name gets the close and valid ones."""

import pytest

from tfrobust.architectures.registry import ARCHITECTURES
from tfrobust.data.registry import DATASETS
from tfrobust.evaluation.registry import ATTACKS
from tfrobust.recipes import registry as recipes
from tfrobust.registry import Registry

pytestmark = pytest.mark.jax


def test_register_by_call_or_decorator_and_refuse_a_second_entry():
    registry = Registry("thing")
    assert registry.register("a", 1) == 1

    @registry.register("b")
    def build():
        return 2

    assert registry.get("b") is build and registry.list() == ["a", "b"] and "a" in registry
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        registry.register("a", 3)


@pytest.mark.parametrize(
    "registry",
    [ARCHITECTURES, DATASETS, ATTACKS, recipes.OBJECTIVES, recipes.ATTACKS, recipes.LAYERS],
    ids=lambda r: r.kind,
)
def test_an_unknown_name_suggests_and_lists(registry):
    name = registry.list()[0] + "x"
    with pytest.raises(
        ValueError,
        match=rf"Unknown {registry.kind} '{name}' \(did you mean "
        rf"'{registry.list()[0]}'\?\). Valid names: ",
    ):
        registry.get(name)
