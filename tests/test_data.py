"""Datasets: IDX parsing, checksums, the local-directory source, and downloads from a local HTTP server
(mirror fallback, resume, corrupt files). No test touches the network beyond 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kx_tasks.core import data
from kx_tasks.core.data import DataError, Dataset, Source, catalogue, formats
from kx_tasks.core.data.fetch import fetch


def write_idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_mnist(tmp_path) -> tuple[Dataset, Path]:
    """A 5-train / 3-test MNIST look-alike in mnist/ under a local data dir, with its real MD5s."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "local" / "tiny"
    folder.mkdir(parents=True)
    arrays = {
        "train_images": rng.integers(0, 256, (5, 4, 4)),
        "train_labels": np.arange(5),
        "test_images": rng.integers(0, 256, (3, 4, 4)),
        "test_labels": np.arange(3),
    }
    files = {}
    for role, fname in catalogue.IDX_FILES.items():
        path = write_idx(folder / fname, arrays[role])
        files[role] = Source(fname, f"md5:{md5(path)}", (), f"tiny/{fname}")
    return Dataset("tiny", files, formats.build_idx_images), tmp_path / "local"


def test_read_idx_roundtrip_and_bad_header(tmp_path):
    a = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(formats.read_idx(write_idx(tmp_path / "a.gz", a)), a)
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(DataError, match=r"bad\.gz.*header says"):
        formats.read_idx(bad)


def test_prepare_from_local_directory(tiny_mnist, tmp_path):
    dataset, local = tiny_mnist
    out = tmp_path / "out" / "tiny.npz"
    shapes = data.prepare(dataset, out, local, tmp_path / "downloads")
    assert shapes["x_train"] == [5, 4, 4] and shapes["y_test"] == [3]
    arrays = data.load(out)
    assert arrays["x_train"].dtype == np.uint8
    assert not list(out.parent.glob("*.part*"))


def test_corrupt_local_file_names_file_and_checksums(tiny_mnist, tmp_path):
    dataset, local = tiny_mnist
    target = local / "tiny" / "train-labels-idx1-ubyte.gz"
    expected = dataset.files["train_labels"].checksum.split(":")[1]
    target.write_bytes(target.read_bytes()[:-3])  # truncated
    actual = md5(target)
    with pytest.raises(DataError) as e:
        data.prepare(dataset, tmp_path / "tiny.npz", local, tmp_path / "downloads")
    message = str(e.value)
    assert str(target) in message and expected in message and actual in message
    assert not (tmp_path / "tiny.npz").exists()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from `root`, honouring single-range requests; records the Range headers it saw."""

    ranges: list = []
    root: Path = Path(".")

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        start = 0
        header = self.headers.get("Range")
        type(self).ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = type("Handler", (_Handler,), {"root": root, "ranges": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, handler
    httpd.shutdown()
    httpd.server_close()


def test_download_falls_back_to_mirror_and_verifies(server, tmp_path):
    url, root, _ = server
    (root / "mirror").mkdir()
    payload = b"hello kx" * 1000
    (root / "mirror" / "f.bin").write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    src = Source("f.bin", f"sha256:{sha}", (f"{url}/official/f.bin", f"{url}/mirror/f.bin"), "x/f.bin")
    path = fetch(src, None, tmp_path / "dl")
    assert path.read_bytes() == payload
    # A second fetch uses the verified download without the network.
    (root / "mirror" / "f.bin").unlink()
    assert fetch(src, None, tmp_path / "dl") == path


def test_download_resumes_a_partial_file(server, tmp_path):
    url, root, handler = server
    payload = bytes(range(256)) * 400
    (root / "f.bin").write_bytes(payload)
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "f.bin.part").write_bytes(payload[:30000])  # an interrupted earlier attempt
    src = Source("f.bin", f"md5:{hashlib.md5(payload).hexdigest()}", (f"{url}/f.bin",), "x/f.bin")
    assert fetch(src, None, dl).read_bytes() == payload
    assert handler.ranges == ["bytes=30000-"]


def test_corrupt_download_is_rejected_and_not_kept(server, tmp_path):
    url, root, _ = server
    (root / "f.bin").write_bytes(b"not what was published")
    src = Source("f.bin", "md5:" + "0" * 32, (f"{url}/f.bin",), "x/f.bin")
    with pytest.raises(DataError, match=r"could not get f\.bin.*expected 0{32}, actual [0-9a-f]{32}"):
        fetch(src, None, tmp_path / "dl")
    assert not (tmp_path / "dl" / "f.bin").exists()


def test_missing_everywhere_names_the_local_path(tmp_path):
    src = Source("f.bin", "md5:" + "0" * 32, (), "sub/f.bin")
    (tmp_path / "local").mkdir()
    with pytest.raises(DataError, match=r"local/sub/f\.bin is missing"):
        fetch(src, tmp_path / "local", tmp_path / "dl")


def test_catalogue_is_complete():
    for name, dataset in data.DATASETS.items():
        assert dataset.files, name
        for src in dataset.files.values():
            algorithm, digest = src.checksum.split(":")
            assert algorithm in ("md5", "sha256") and len(digest) == {"md5": 32, "sha256": 64}[algorithm]
            assert src.urls and all(u.startswith(("http://", "https://")) for u in src.urls)


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "mnist",
            {"x_train": [60000, 28, 28], "y_train": [60000], "x_test": [10000, 28, 28], "y_test": [10000]},
        ),
        ("fashion_mnist", {"x_train": [60000, 28, 28], "x_test": [10000, 28, 28]}),
        ("sst2", {"text_train": [6920], "text_dev": [872], "text_test": [1821]}),
        ("trec", {"text_train": [5452], "text_test": [500], "classes": [6]}),
        ("tinyshakespeare", {"text_train": [1003854], "text_test": [111540]}),
        ("cr", {"text_all": [3771], "y_all": [3771]}),  # Kim's 3,775 lines hold 4 blank ones
        ("mpqa", {"text_all": [10603], "y_all": [10603]}),  # 10,606 lines, 3 blank
        ("mr", {"text_all": [10662], "y_all": [10662]}),  # Kim's 10,662 (0x85 bytes inside lines stay inside)
        ("subj", {"text_all": [10000], "y_all": [10000]}),
    ],
)
def test_real_datasets(name, expected, real_data_dir, tmp_path):
    shapes = data.prepare(data.DATASETS[name], tmp_path / f"{name}.npz", real_data_dir, tmp_path / "dl")
    for key, shape in expected.items():
        assert shapes[key] == shape
    arrays = data.load(tmp_path / f"{name}.npz")
    if name == "mnist":
        assert np.bincount(arrays["y_train"]).tolist() == [
            5923,
            6742,
            5958,
            6131,
            5842,
            5421,
            5918,
            6265,
            5851,
            5949,
        ]
        assert int(arrays["x_train"].sum(dtype=np.int64)) == 1567298545
    if name == "trec":
        assert np.bincount(arrays["y_test"]).tolist() == [9, 138, 94, 65, 81, 113]
    if name in ("cr", "mpqa", "mr", "subj"):
        counts = {"cr": [1366, 2405], "mpqa": [7292, 3311], "mr": [5331, 5331], "subj": [5000, 5000]}
        assert np.bincount(arrays["y_all"]).tolist() == counts[name]


def test_wikitext_read_from_the_archive_with_its_line_counts(tmp_path, monkeypatch):
    archive = tmp_path / "wikitext-103-v1.zip"
    train = " = Title = \n\n the cat sat . it ran @-@ off . \n"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("wikitext-103/wiki.train.tokens", train)
        z.writestr("wikitext-103/wiki.test.tokens", " a b . \n")
    monkeypatch.setattr(formats, "WIKITEXT_LINES", {"train": 3, "test": 1})
    out = formats.build_wikitext({"archive": archive})
    assert bytes(out["text_train"]).decode() == train and bytes(out["text_test"]).decode() == " a b . \n"
    monkeypatch.setattr(formats, "WIKITEXT_LINES", {"train": 1_801_350, "test": 1})
    with pytest.raises(DataError, match=r"wiki\.train\.tokens: 3 lines, expected 1801350"):
        formats.build_wikitext({"archive": archive})
