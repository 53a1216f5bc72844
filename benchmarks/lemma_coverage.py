"""How well lemma expansion reproduces the pack's hand-written form lists, per language.

For each hand-written inflection list of the pack (Russian, German, French, Spanish; as written
before lemma terms replaced the Russian and German ones), the lemmas a rule writer would name
instead, and:

- coverage: the share of the list's hand-written word forms that the expansion contains;
- extra: how many forms the expansion adds, and which of them occur in the labelled corpus (the
  forms that could change a match, to be read for risky other words);
- the time to load each language's dictionary and expand, and to expand again (cached).

    .venv/bin/python benchmarks/lemma_coverage.py [--show-extra]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.rules import morphology  # noqa: E402

# Words of a list that are not forms of the lemma: articles, prepositions, reflexive pronouns.
_FUNCTION_WORDS = {
    "se", "le", "la", "de", "du", "des", "en", "el", "los", "las", "a", "aus", "den", "der",
    "die", "das", "из", "в",
    "suspenso",  # "en suspenso" is an idiom of its own beside the forms of "congelar"
}  # fmt: skip
_WORD = re.compile(r"\w+", re.UNICODE)

# (file, the list as written there, language, the lemmas that would replace it)
CASES = [
    ("withdrawal", "[вышли, вышла, вышел]", "ru", ("выйти",)),
    ("withdrawal", "[отзывает, отозвала, отозвал, отзыв, отозвать]", "ru",
     ("отозвать", "отзывать", "отзыв")),
    ("withdrawal", "[выход из, выходе из, выхода из, выйти из, выйдет из, вышла из, вышел из, "
     "вышли из, выходит из]", "ru", ("выход", "выйти", "выходить")),
    ("withdrawal", "[снимать, снятие, снятия]", "ru", ("снимать", "снятие")),
    ("withdrawal", "не [выходит, выходим, выйдет]", "ru", ("выходить", "выйти")),
    ("withdrawal", "[прекращении действия, прекращение действия, прекратить действие, "
     "прекращает действие]", "ru", ("прекращение", "прекратить", "прекращать", "действие")),
    ("deadline", "[истечения, истечёт, истечет, истёк, истек]", "ru", ("истечение", "истечь")),
    ("ratification", "[вступила, вступило, вступает, вступил, вступит] в силу", "ru",
     ("вступить", "вступать")),
    ("withdrawal", "[aufgekündigt, aufkündigen, verlassen, verlässt, verließ]", "de",
     ("aufkündigen", "verlassen")),
    ("withdrawal", "[auszutreten, treten aus, austreten, tritt aus]", "de",
     ("austreten", "treten")),
    ("withdrawal", "[auszusteigen, aussteigen]", "de", ("aussteigen",)),
    ("withdrawal", "[steigen, steigt, stieg] aus", "de", ("steigen",)),
    ("withdrawal", "[gekündigt, kündigen, kündigte, kündigt] den", "de", ("kündigen",)),
    ("withdrawal", "[gekündigt, Kündigung]", "de", ("kündigen", "Kündigung")),
    ("withdrawal", "[steige, steigt] nicht aus", "de", ("steigen",)),
    ("suspension", "[ausgesetzt, Aussetzung, aussetzen]", "de", ("aussetzen", "Aussetzung")),
    ("violation", "[Verstößen, verstoßen, Verstöße, verstößt, Verstoß]", "de",
     ("verstoßen", "Verstoß")),
    ("violation", "[Verletzung, verletzen, verletzte, verletzt]", "de",
     ("verletzen", "Verletzung")),
    ("talks", "[Delegationen, Delegation, Treffen]", "de", ("Delegation", "Treffen")),
    ("withdrawal", "[se retirent, se retirera, se retirer, se retire]", "fr", ("retirer",)),
    ("withdrawal", "[quittent, quittera, quitter, quitte]", "fr", ("quitter",)),
    ("withdrawal", "[quitter, quitte, quittent, quittera, quitteront, quitté]", "fr",
     ("quitter",)),
    ("withdrawal", "[sortir, sortie] de", "fr", ("sortir", "sortie")),
    ("withdrawal", "[claquent, claque, claquer, claqué] la porte", "fr", ("claquer",)),
    ("withdrawal", "ne se [retirent, retire] pas", "fr", ("retirer",)),
    ("suspension", "[suspendent, suspension, suspendue, suspendu, suspend]", "fr",
     ("suspendre", "suspension")),
    ("ratification", "[adhésion, adhérer, adhère]", "fr", ("adhésion", "adhérer")),
    ("deadline", "[expirera, expire, expiré]", "fr", ("expirer",)),
    ("violation", "[violations, violation, violent, viole, violé]", "fr",
     ("violation", "violer")),
    ("talks", "[délégations, délégation, rencontre, réunion]", "fr",
     ("délégation", "rencontre", "réunion")),
    ("withdrawal", "[retirada, retiro]", "es", ("retirada", "retiro")),
    ("withdrawal", "[se retiran, se retira, se retiró, retirarse, se retirará, se retirarán]", "es",
     ("retirar",)),
    ("withdrawal", "[abandonará, abandonar, abandonan, abandona, abandonó]", "es", ("abandonar",)),
    ("withdrawal", "[salida, saldrá, sale] de", "es", ("salida", "salir")),
    ("withdrawal", "[saca, sacó] a", "es", ("sacar",)),
    ("withdrawal", "[denuncia, denunció, denunciar, denunciará]", "es", ("denunciar",)),
    ("suspension", "[suspensión, suspenden, suspendió, suspender, suspende]", "es",
     ("suspender", "suspensión")),
    ("suspension", "[en suspenso, congela, congeló]", "es", ("congelar",)),
    ("ratification", "[entrará, entra, entró] en vigor", "es", ("entrar",)),
    ("deadline", "[vencerá, venció, expira, expiró, vence, expirar, expiraba, expirará]", "es",
     ("vencer", "expirar")),
    ("violation", "[violaciones, violación, violando, violar, viola, violó]", "es",
     ("violación", "violar")),
    ("talks", "[delegaciones, delegación, reunión]", "es", ("delegación", "reunión")),
]  # fmt: skip


def _corpus_words() -> set[str]:
    words: set[str] = set()
    for path in sorted((ROOT / "tests" / "corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                text = " ".join(str(item.get(k) or "") for k in ("title", "summary", "content"))
                words.update(_WORD.findall(text.casefold()))
    return words


def _hand_written(listed: str) -> list[str]:
    inside = listed[listed.index("[") : listed.index("]")]
    return [w for w in _WORD.findall(inside.casefold()) if w not in _FUNCTION_WORDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show-extra", action="store_true", help="list every extra form")
    args = parser.parse_args()
    corpus = _corpus_words()
    loaded: dict[str, float] = {}
    totals: dict[str, list[int]] = {}
    print(f"{'file':13s} {'lang':4s} {'lemmas':34s} {'hand':>4s} {'covered':>7s} {'extra':>5s}"
          "  missed / extra forms seen in the corpus")  # fmt: skip
    for file, listed, language, lemmas in CASES:
        started = time.perf_counter()
        forms: set[str] = set()
        for lemma in lemmas:
            forms.update(morphology.expand(language, lemma))
        loaded.setdefault(language, time.perf_counter() - started)
        hand = sorted(set(_hand_written(listed)))
        covered = [w for w in hand if w in forms]
        missed = [w for w in hand if w not in forms]
        extra = sorted(forms - set(hand))
        seen = [w for w in extra if w in corpus]
        total = totals.setdefault(language, [0, 0, 0])
        total[0] += len(hand)
        total[1] += len(covered)
        total[2] += len(extra)
        print(
            f"{file:13s} {language:4s} {', '.join(lemmas)[:34]:34s} {len(hand):4d} "
            f"{len(covered) / len(hand):7.0%} {len(extra):5d}  "
            f"missed {missed or '-'} / seen {seen or '-'}"
        )
        if args.show_extra:
            print("    extra:", ", ".join(extra))
    print()
    for language, (hand_count, covered_count, extra_count) in totals.items():
        print(
            f"{language}: {covered_count}/{hand_count} hand-written forms covered "
            f"({covered_count / hand_count:.0%}), {extra_count} extra forms; "
            f"first expansion (dictionary load) {loaded[language]:.2f} s"
        )
    started = time.perf_counter()
    for _, _, language, lemmas in CASES:
        for lemma in lemmas:
            morphology.expand(language, lemma)
    print(f"all {sum(len(c[3]) for c in CASES)} expansions again (cached): "
          f"{(time.perf_counter() - started) * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
