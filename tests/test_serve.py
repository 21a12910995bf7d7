"""``rnnlab serve``: OpenAI-compatible completions, rnnlab's extras, batching, bad input, keys, shutdown.

Every answer is checked against the library computing the same thing on its own: a seeded
completion against ``LanguageModel.sample`` / ``iter_sample`` with that seed (alone, and while
other streams share the batch), the next-character distribution against the model's own
softmax, a score against ``LanguageModel.score``. The server runs as a real process.
"""

import json
import os
import threading

import httpx
import pytest
import torch
from conftest import SMALL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_fixtures import serve

import rnnlab
from rnnlab.cli import main
from rnnlab.config import SampleConfig

CAPS = ["--max-tokens", "5000", "--max-n", "4", "--max-prompt", "500"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    (folder / "small.txt").write_text(SMALL)
    out = folder / "tiny"
    assert main(["train", str(folder / "small.txt"), "--out", str(out), "--tiny", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def server(run):
    with serve(str(run), *CAPS) as s:
        yield s
    assert s.returncode == 0


def complete(server, **body):
    status, reply = server.post("/v1/completions", {"model": "tiny", **body})
    assert status == 200, reply
    return reply


def stream_text(url: str, body: dict, stop_after: int | None = None) -> tuple[list[str], list[str | None], bool]:
    """Texts per choice, finish reasons, and whether [DONE] came (``stop_after``: leave after that many chunks)."""
    texts, finish, done = {}, {}, False
    with httpx.Client(timeout=60) as c, c.stream("POST", url + "/v1/completions", json={**body, "stream": True}) as r:
        assert r.status_code == 200
        chunks = 0
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            event = json.loads(line[6:])
            assert "error" not in event, event
            for ch in event["choices"]:
                texts[ch["index"]] = texts.get(ch["index"], "") + ch["text"]
                if ch["finish_reason"]:
                    finish[ch["index"]] = ch["finish_reason"]
            chunks += 1
            if stop_after is not None and chunks >= stop_after:
                break
    n = max(texts, default=-1) + 1
    return [texts.get(i, "") for i in range(n)], [finish.get(i) for i in range(n)], done


def test_models_health_and_the_page(server):
    status, models = server.get("/v1/models")
    assert status == 200 and models["object"] == "list"
    assert {m["id"] for m in models["data"]} == {"tiny", "base"}
    status, health = server.get("/health")
    assert status == 200 and health["status"] == "ok" and set(health["models"]) == {"tiny", "base"}
    cores = len(os.sched_getaffinity(0))
    assert all(m["workers"] == cores for m in health["models"].values())  # an engine per core, per model
    assert health["threads"] == max(1, (cores - 1) // cores)  # a core left to the event loop, shared by the workers
    with httpx.Client() as c:
        page = c.get(server.url + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_threads_are_set_while_serving_and_restored_after(run, monkeypatch):
    """``--threads`` sets torch's threads for the server's life; an in-process caller gets its own back."""
    uvicorn = pytest.importorskip("uvicorn")
    seen = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **kw: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert main(["serve", str(run), "--threads", "1", "--port", "0"]) == 0
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_seeded_completion_is_the_samplers_text_alone_and_among_others(server, run):
    lm = rnnlab.load(run)
    want = lm.sample(200, "the ", seed=7, temperature=0.9)[4:]
    got = complete(server, prompt="the ", max_tokens=200, seed=7, temperature=0.9)
    assert got["choices"][0]["text"] == want and got["choices"][0]["finish_reason"] == "length"
    assert got["usage"] == {"prompt_tokens": 4, "completion_tokens": 200, "total_tokens": 204}

    # The same request while eight other streams share the batch, joining and leaving around it.
    others = [
        threading.Thread(target=stream_text, args=(server.url, {"model": "tiny", "prompt": "a", "max_tokens": 30 * (i + 1), "seed": i}))
        for i in range(8)
    ]
    for t in others:
        t.start()
    texts, finish, done = stream_text(server.url, {"model": "tiny", "prompt": "the ", "max_tokens": 200, "seed": 7, "temperature": 0.9})
    for t in others:
        t.join()
    assert texts == [want] and finish == ["length"] and done

    # n choices from one seed: what --num draws side by side.
    reply = complete(server, prompt="dog", max_tokens=60, n=3, seed=3, top_k=5)
    side_by_side = list(zip(*lm.iter_sample(60, "dog", num=3, seed=3, top_k=5)))
    assert [c["text"] for c in reply["choices"]] == ["".join(s) for s in side_by_side]
    greedy = lm.sample(30, "the ", greedy=True)[4:]
    assert complete(server, prompt="the ", max_tokens=30, temperature=0)["choices"][0]["text"] == greedy
    assert complete(server, prompt="the ", max_tokens=30, greedy=True, seed=1)["choices"][0]["text"] == greedy


def test_workers_fill_one_engine_then_spread_and_keep_seeded_texts(run):
    """A light load stays on the first engine; past SPILL rows requests go to the least loaded;
    a seeded request gives the sampler's text on either engine; rows are counted out as they leave."""
    from rnnlab.serve.engine import SPILL, Request, Workers

    lm = rnnlab.load(run)
    assert [e.max_streams for e in Workers(lm, 3, 4).engines] == [2, 1, 1]  # they share the cap
    assert len(Workers(lm, 4, 2).engines) == 2  # no more engines than streams
    pool = Workers(lm, 2)
    try:
        done, texts = threading.Event(), {}

        def request(seed, length, n=1):
            g = torch.Generator().manual_seed(seed)

            def emit(event):
                if event[0] == "chars":
                    for _row, text in event[1]:
                        texts[seed] = texts.get(seed, "") + text
                elif seed == 1000:
                    done.set()

            return Request(lm.prime_ids("the ", n, g), SampleConfig(length=length, temperature=0.9), g, (), emit)

        long = [request(seed, 100_000) for seed in range(SPILL + 2)]
        for r in long:
            pool.submit(r)
        assert [e.load for e in pool.engines] == [SPILL, 2]
        seeded = request(1000, 150, n=1)
        pool.submit(seeded)  # the second engine is the less loaded
        assert [e.load for e in pool.engines] == [SPILL, 3]
        assert done.wait(60)
        assert texts[1000] == lm.sample(150, "the ", seed=1000, temperature=0.9)[4:]
        for r in long:
            r.cancelled.set()
        for _ in range(600):
            if all(e.load == 0 and e.streams == 0 for e in pool.engines):
                break
            threading.Event().wait(0.05)
        assert [e.load for e in pool.engines] == [0, 0] and pool.streams == 0
        assert pool.chars >= 150 and pool.steps > 0
    finally:
        pool.close()


def test_stop_strings_end_a_choice_and_are_not_sent(server, run):
    full = rnnlab.load(run).sample(300, "the", seed=11)[3:]
    stop = "o"
    reply = complete(server, prompt="the", max_tokens=300, seed=11, stop=[stop, "zz"])
    assert reply["choices"][0] == {"text": full[: full.index(stop)], "index": 0, "logprobs": None, "finish_reason": "stop"}
    two = full[full.index(" ") : full.index(" ") + 2]  # a two-character stop: its first character is held back, never sent
    texts, finish, _ = stream_text(server.url, {"model": "tiny", "prompt": "the", "max_tokens": 300, "seed": 11, "stop": two})
    assert texts == [full[: full.index(two)]] and finish == ["stop"]


def test_the_openai_client_works_unchanged(server, run):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    assert {m.id for m in client.models.list()} == {"tiny", "base"}
    want = rnnlab.load(run).sample(80, "the ", seed=5, temperature=0.8, top_p=0.9)[4:]
    r = client.completions.create(model="tiny", prompt="the ", max_tokens=80, seed=5, temperature=0.8, top_p=0.9)
    assert r.choices[0].text == want and r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 80
    chunks = client.completions.create(model="tiny", prompt="the ", max_tokens=80, seed=5, temperature=0.8, top_p=0.9, stream=True)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == want
    with pytest.raises(openai.BadRequestError, match="max_tokens"):
        client.completions.create(model="tiny", prompt="the", max_tokens=10_000)


def test_next_characters_and_score_match_the_model(server, run):
    lm = rnnlab.load(run)
    prompt = "the lazy d"
    status, reply = server.post("/v1/rnnlab/next", {"model": "tiny", "prompt": prompt, "top": 5, "words": True})
    assert status == 200
    ids, _ = lm.vocab.encode(prompt)
    with torch.no_grad():
        probs = torch.softmax(lm.model(ids[None])[0][0, -1], dim=-1)  # (V,): the model's own last-step distribution
    p, top = probs.topk(5)
    assert [c["text"] for c in reply["candidates"]] == [lm.vocab.chars[i] for i in top.tolist()]
    assert [c["probability"] for c in reply["candidates"]] == pytest.approx(p.tolist(), abs=1e-5)
    first = reply["candidates"][0]
    assert first["word"].startswith(first["text"])
    text = "the quick brown fox jumps over the lazy dog.\n" * 3
    status, scored = server.post("/v1/rnnlab/score", {"model": "tiny", "text": text})
    assert (
        status == 200 and scored["bpc"] == pytest.approx(lm.score(text), rel=1e-5) and scored["chars"] == len(text) - 1
    )  # the first character has nothing before it


FILTERS = [{"temperature": t} for t in (0, 0.01, 0.7, 100)] + [{"temperature": 0.9, "top_k": 4, "top_p": 0.8}, {"greedy": True}]


@pytest.mark.parametrize("filters", FILTERS)
def test_the_servers_temperature_goes_through_the_samplers_filter(server, run, filters):
    """A seeded completion is LanguageModel.sample with the same SampleConfig, and /v1/rnnlab/next's
    probabilities are sampling.probabilities of the model's logits under it, at every temperature
    (0 greedy, the bounds, a top-k and top-p)."""
    from rnnlab.sampling import filter_of, probabilities

    lm = rnnlab.load(run)
    want = lm.sample(SampleConfig(length=60, seed=5, **filters), "the ")[4:]
    assert complete(server, prompt="the ", max_tokens=60, seed=5, **filters)["choices"][0]["text"] == want
    status, reply = server.post("/v1/rnnlab/next", {"model": "tiny", "prompt": "the lazy d", "top": 8, **filters})
    assert status == 200, reply
    ids, _ = lm.vocab.encode("the lazy d")
    with torch.no_grad():
        logits = lm.model(ids[None])[0][:, -1]  # (1, V): the model's own last step
    probs = probabilities(logits, *filter_of(SampleConfig(**filters)))[0]  # (V,)
    got = {c["text"]: c["probability"] for c in reply["candidates"]}
    assert len(got) == min(8, int((probs > 0).sum()))
    assert sorted(got.values(), reverse=True) == pytest.approx(probs.topk(len(got)).values.tolist(), abs=1e-5)
    assert all(p == pytest.approx(float(probs[lm.vocab.stoi[ch]]), abs=1e-5) for ch, p in got.items())


@pytest.mark.parametrize("bad", [1e-40, 101])
def test_a_temperature_out_of_bounds_is_refused_as_rnnlab_sample_refuses_it(server, run, capsys, bad):
    assert main(["sample", str(run), "--temperature", str(bad)]) == 2
    cli = capsys.readouterr().err.split("argument --temperature: ", 1)[1].split(" (see ", 1)[0]
    for path in ("/v1/completions", "/v1/rnnlab/next"):
        status, reply = server.post(path, {"model": "tiny", "prompt": "the ", "temperature": bad})
        assert status == 400 and reply["error"]["param"] == "temperature", reply
        assert reply["error"]["message"] == f"temperature {cli}" and "between 0.01 and 100" in cli, (reply, cli)


BAD = [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    ({"model": 3}, 400, "model must be a string"),
    ({"model": "nope"}, 404, "unknown model 'nope'"),
    ({"model": "tiny", "max_tokens": "5"}, 400, "max_tokens must be an integer"),
    ({"model": "tiny", "max_tokens": 5001}, 400, "between 0 and 5000"),
    ({"model": "tiny", "n": 5}, 400, "n must be between 1 and 4"),
    ({"model": "tiny", "temperature": "hot"}, 400, "temperature must be a number"),
    ({"model": "tiny", "top_p": 0}, 400, "top_p"),
    ({"model": "tiny", "stream": "yes"}, 400, "stream must be true or false"),
    ({"model": "tiny", "stop": ["a", "b", "c", "d", "e"]}, 400, "stop must be"),
    ({"model": "tiny", "prompt": "x" * 501}, 400, "at most 500"),
    ({"model": "tiny", "prompt": "the QUICK"}, 400, "never seen: 'Q', 'U', 'I', 'C', 'K'"),
    ({"model": "tiny", "prompt": ["a", "b"]}, 400, "prompt must be a string"),
]


def test_bad_requests_are_4xx_json_and_other_streams_go_on(server, run):
    want = rnnlab.load(run).sample(300, "the ", seed=2)[4:]
    result = {}
    long = threading.Thread(
        target=lambda: result.update(
            zip(("texts", "finish", "done"), stream_text(server.url, {"model": "tiny", "prompt": "the ", "max_tokens": 300, "seed": 2}))
        )
    )
    long.start()
    for body, status, needle in BAD:
        got, reply = server.post("/v1/completions", body)
        assert got == status and needle in reply["error"]["message"], (body, got, reply)
        assert reply["error"]["type"] == "invalid_request_error"
    for path, method in (("/nowhere", "GET"), ("/v1/completions", "GET")):
        with httpx.Client() as c:
            r = c.request(method, server.url + path)
        assert r.status_code in (404, 405) and "error" in r.json()
    status, reply = server.post("/v1/rnnlab/score", {"model": "tiny", "text": ""})
    assert status == 400 and "nothing to score" in reply["error"]["message"]
    long.join()
    assert result["texts"] == [want] and result["done"]


def test_a_client_that_leaves_is_dropped_and_the_others_go_on(server, run):
    want = rnnlab.load(run).sample(300, "a", seed=4)[1:]
    result = {}
    other = threading.Thread(
        target=lambda: result.update(texts=stream_text(server.url, {"model": "tiny", "prompt": "a", "max_tokens": 300, "seed": 4})[0])
    )
    other.start()
    # The base model writes a few thousand characters a second here: 4,000 take longer than leaving does.
    _, _, done = stream_text(server.url, {"model": "base", "prompt": "The ", "max_tokens": 4000, "seed": 1}, stop_after=1)
    assert not done  # it left after its first chunk
    other.join()
    assert result["texts"] == [want]
    for _ in range(200):  # its rows leave the batch at the next step
        base = server.get("/health")[1]["models"]["base"]
        if base["streams"] == 0:
            break
        threading.Event().wait(0.05)
    assert base["streams"] == 0 and base["chars"] < 4000  # dropped, not run to its end


FIELDS = ["model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "n", "stop", "seed", "stream", "greedy", "top", "words", "text"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=8,
)
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON | st.sampled_from(["tiny", "base", "the ", 5, 0.5]), max_size=8)


def test_random_bodies_get_2xx_or_4xx_never_5xx(server):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(["/v1/completions", "/v1/rnnlab/next", "/v1/rnnlab/score"]), body=BODIES)
    def check(path, body):
        body = {**body, "stream": False} if isinstance(body.get("stream"), bool) else body  # a stream's status is 200 up front
        status, reply = server.post(path, body)
        assert 200 <= status < 500, (path, body, status, reply)
        assert ("error" in reply) == (status >= 400)

    check()
    assert server.get("/health")[0] == 200


def test_api_key_and_the_open_host_warning(run):
    with serve(str(run), "--api-key", "s3cret") as s:
        assert s.get("/v1/models")[0] == 401
        status, reply = s.get("/v1/models", {"Authorization": "Bearer wrong"})
        assert status == 401 and reply["error"]["type"] == "authentication_error"
        assert s.get("/v1/models", {"Authorization": "Bearer s3cret"})[0] == 200
        assert s.post("/v1/completions", {"model": "tiny"}, {"Authorization": "Bearer s3cret"})[0] == 200
        with httpx.Client() as c:
            assert c.get(s.url + "/").status_code == 200  # the page holds no data; it asks for the key
    with serve(str(run), "--host", "0.0.0.0", env={"RNNLAB_API_KEY": "k2"}) as s:
        # A probe without the key learns only that the server is up; the details need the key.
        assert s.get("/health") == (200, {"status": "ok"})
        assert s.get("/health", {"Authorization": "Bearer wrong"}) == (200, {"status": "ok"})
        status, health = s.get("/health", {"Authorization": "Bearer k2"})
        assert status == 200 and health["status"] == "ok" and set(health["models"]) == {"tiny", "base"} and "threads" in health
        assert s.get("/v1/models")[0] == 401 and s.post("/v1/rnnlab/score", {"text": "a"})[0] == 401
    with serve(str(run), "--host", "0.0.0.0") as s:
        pass
    assert "no authentication" in s.process.stderr.read()


def test_sigterm_lets_open_streams_finish_and_exits_0(run):
    with serve(str(run), "--shutdown-timeout", "20") as s:
        result = {}
        body = {"model": "base", "max_tokens": 4000, "seed": 0}  # a second or so of writing: open when SIGTERM comes
        t = threading.Thread(target=lambda: result.update(zip(("texts", "finish", "done"), stream_text(s.url, body))))
        t.start()
        while s.get("/health")[1]["models"]["base"]["chars"] == 0:
            threading.Event().wait(0.05)
    t.join()
    assert s.returncode == 0
    assert result["done"] and result["finish"] == ["length"] and len(result["texts"][0]) == 4000


def test_bad_command_lines_are_one_line(tmp_path, capsys, run):
    from conftest import one_line_error

    one_line_error(capsys, main(["serve", str(tmp_path / "nowhere")]), "nowhere")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("ab\tAB\n" * 20)
    assert main(["tag", "train", str(pairs), "--out", str(tmp_path / "tag"), "--tiny", "--quiet"]) == 0
    capsys.readouterr()
    one_line_error(capsys, main(["serve", str(tmp_path / "tag")]), "not a language-model run")
    one_line_error(capsys, main(["serve", str(run), "--port", "70000"]), "--port")


def reference_choose(logits, generator, greedy=False, temperature=1.0, top_k=None, top_p=None):
    """One step of one request written out: one uniform per row from the generator, then a walk
    along the row's cumulative sum, independently of rnnlab.sampling's draw and search."""
    from rnnlab.sampling import U_MAX, filter_logits

    if greedy:
        return logits.argmax(dim=-1)
    probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)
    u = torch.rand(logits.shape[0], generator=generator, dtype=torch.float64).clamp_max(U_MAX).float()
    out = []
    for row, x in zip(probs, u):
        cdf = row.cumsum(0)
        limit = float(x * cdf[-1])  # in float32, as the sampler
        out.append(next(i for i, c in enumerate(cdf.tolist()) if c > limit))
    return torch.tensor(out)


def test_choose_many_draws_each_request_as_choose_alone():
    from rnnlab.sampling import Draws, choose, choose_many

    settings_ = [
        {"greedy": False, "temperature": 0.7, "top_k": None, "top_p": None},
        {"greedy": False, "temperature": 1.0, "top_k": 3, "top_p": None},
        {"greedy": False, "temperature": 0.7, "top_k": None, "top_p": None},
        {"greedy": True, "temperature": 1.0, "top_k": None, "top_p": 0.5},
    ]
    sizes = [2, 1, 3, 1]  # four requests of 2, 1, 3, 1 rows: (B, V) = (7, 11)
    for seed in range(20):
        draws = [Draws(torch.Generator().manual_seed(seed * 10 + i), n, block=2) for i, n in enumerate(sizes)]
        alone = [torch.Generator().manual_seed(seed * 10 + i) for i in range(4)]
        for step in range(5):  # past the end of a block of 2 steps: the next block follows on
            logits = torch.randn(7, 11, generator=torch.Generator().manual_seed(100 * seed + step))  # (B, V)
            got = choose_many(logits, list(zip(sizes, draws, [SampleConfig(**f) for f in settings_])))
            want, at = [], 0
            for n, g, f in zip(sizes, alone, settings_):
                want.append(reference_choose(logits[at : at + n], g, **f))
                at += n
            assert torch.equal(got, torch.cat(want))
        again = torch.Generator().manual_seed(seed * 10)
        assert torch.equal(
            choose(logits[:2], again, SampleConfig(**settings_[0])),
            reference_choose(logits[:2], torch.Generator().manual_seed(seed * 10), **settings_[0]),
        )


def test_inverse_cdf_never_takes_a_character_of_probability_zero():
    from rnnlab.sampling import U_MAX, inverse_cdf

    probs = torch.tensor([[0.2, 0.8, 0.0, 0.0], [0.0, 0.5, 0.0, 0.5], [0.0, 0.5, 0.0, 0.5], [0.0, 0.0, 1e-30, 0.0]])
    u = torch.tensor([U_MAX, 0.0, 0.5, U_MAX])  # the extremes, and a draw on a boundary of the cumulative sum
    assert inverse_cdf(probs, u).tolist() == [1, 1, 3, 2]
    big = torch.rand(1000, 7, generator=torch.Generator().manual_seed(0)) * (torch.arange(7) % 2)  # odd columns only
    assert (inverse_cdf(big, torch.full((1000,), U_MAX)) % 2 == 1).all()


def test_two_run_folders_of_one_name_are_both_served(tmp_path, capsys):
    """rnnlab serve runs/lic other/lic: both, each named by its path; the same folder twice is
    refused, and a folder called base does not hide the shipped model."""
    from rnnlab.commands.serve import model_names

    assert model_names(["runs/lic", "other/lic", "runs/poems"]) == {"runs/lic": "runs/lic", "other/lic": "other/lic", "poems": "runs/poems"}
    assert model_names(["mine/base"]) == {"mine/base": "mine/base"}
    rc = main(["serve", str(tmp_path / "a"), str(tmp_path / "b" / ".." / "a")])
    err = capsys.readouterr().err
    assert rc == 2 and "is given twice" in err and len(err.strip().splitlines()) == 1, err
