from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.config import CONFIG_FILE, ConfigError, load_config


def write_config(tmp_path: Path, change: dict[str, dict[str, object]]) -> Path:
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    for section, values in change.items():
        raw[section].update(values)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_default_config_is_valid() -> None:
    config = load_config()
    assert 0 < config.split.test_size < 1
    assert config.features.numeric
    assert config.features.categorical


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"split": {"tset_size": 0.2}}, "split.tset_size: Extra inputs are not permitted"),
        ({"split": {"test_size": "a fifth"}}, "split.test_size"),
        ({"split": {"test_size": 1.5}}, "split.test_size"),
        ({"model": {"C": -1}}, "model.C"),
        ({"features": {"numeric": ["age", "body"]}}, "['body'] leak the target"),
        ({"features": {"categorical": ["sex", "home.dest"]}}, "['home.dest'] leak the target"),
        ({"features": {"numeric": ["age", "height"]}}, "unknown features ['height']"),
        ({"features": {"categorical": []}}, "features.categorical"),
        ({"artifact": {"name": "../escape"}}, "artifact.name"),
    ],
)
def test_bad_config_is_a_clear_error(
    tmp_path: Path, change: dict[str, dict[str, object]], message: str
) -> None:
    path = write_config(tmp_path, change)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_unreadable_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yml")
