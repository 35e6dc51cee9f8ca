"""Every French sentence of the COPIL deck, in one place: titles, bullets, tables and notes.

The slides (``deck``) only place these texts. Labels the deliverables share (month names, stage
names, reasons for removed rows, file names) come from ``bottleneck_pipeline.labels_fr``; the
diagram's box labels come from the lineage model (``lineage``). Numbers and plurals are written
by ``french``: never "avertissement(s)", always "1 avertissement" / "2 avertissements".
"""

from __future__ import annotations

import json
import re
from collections import Counter

from bottleneck_pipeline.labels_fr import REMOVAL_REASONS, STAGE_LABELS, period_fr

from .french import (
    NBSP,
    french_list,
    fr_euros,
    fr_number,
    fr_percent,
    fr_signed,
    plural,
    resolve_plural_marks,
)
from .lineage import Lineage
from .run_facts import RunFacts

DECK_TITLE = "BottleNeck — COPIL : automatisation du rapport mensuel de CA"
DECK_AUTHOR = "Équipe data BottleNeck"
SAMPLE_BAND = "Données d'exemple (jeu synthétique) : ces chiffres ne sont pas ceux de BottleNeck"
SOURCE_SAMPLE = "jeu d'exemple synthétique"
SOURCE_REAL = "fichiers réels du mois"
PREMIUM_MARK = "★ vin premium"

# Who acts on a warning, by the workbook it is about (None: no workbook, a pipeline matter).
# The owner of liaison.xlsx is one of the decisions asked of the COPIL.
OWNERS = {
    "erp.xlsx": "équipe ERP",
    "web.xlsx": "équipe web / e-commerce",
    "liaison.xlsx": "à désigner (COPIL)",
    None: "équipe data",
}
# What each workbook holds, for the decision on owners.
FILE_CONTENTS = {
    "erp.xlsx": "prix et stock",
    "web.xlsx": "sku et ventes en ligne",
    "liaison.xlsx": "lien produit ERP ↔ sku web",
}

FAMILY_FR = {  # family -> (name, what it stops)
    "duplicates": ("Doublons", "un produit compté deux fois, deux prix pour un même vin"),
    "missing_values": ("Valeurs manquantes", "un prix ou un code absent qui fausserait le CA"),
    "volumes": (
        "Volumétrie (dont après jointures)",
        "des lignes perdues ou multipliées en lisant ou croisant les fichiers",
    ),
    "revenue": ("Cohérence du CA", "un total différent de la somme des lignes, un Excel mal écrit"),
    "zscore": ("Cohérence du z-score", "un vin classé du mauvais côté du seuil premium"),
    "schema": ("Format des fichiers", "une colonne renommée, du texte dans un prix"),
    "business": ("Règles métier", "un prix ou des ventes négatifs"),
}
FAMILY_ORDER = ("duplicates", "missing_values", "volumes", "revenue", "zscore", "schema", "business")

MAX_WARNING_ROWS = 5  # rows of this month's warnings on the risks slide; the rest are counted


def schedule_of(model: Lineage) -> str:
    return next((n.lines[0] for n in model.of_kind("trigger")), "à la date prévue")


def channel_names(model: Lineage, optional_only: bool = False) -> list[str]:
    return [n.short or n.title for n in model.of_kind("channel") if not optional_only or n.lines[:1] != ("toujours",)]


def next_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def scheduled_month(model: Lineage, period: str) -> str:
    """'Lancement automatique le 15 de chaque mois à 9h, Europe/Paris : il produit le rapport
    du mois précédent (le 15 décembre 2026, celui de novembre 2026).'"""
    schedule = schedule_of(model)
    day = re.match(r"le (\d+|1er) ", schedule)
    example = f" (le {day[1]} {period_fr(next_month(period))}, celui de {period_fr(period)})" if day else ""
    return f"Lancement automatique {schedule} : il produit le rapport du mois précédent{example}."


def figures(facts: RunFacts) -> dict:
    """Every figure the deck shows, computed once (the tests read the same numbers)."""
    s, q = facts.summary, facts.quality
    premium_ca, ordinary_ca = facts.premium_ca, facts.ordinary_ca
    return {
        "period": s["period"],
        "period_fr": period_fr(s["period"]),
        "ca_total": fr_euros(s["ca_total"]),
        "products": fr_number(s["products"]),
        "premium_count": fr_number(s["premium_count"]),
        "ordinary_count": fr_number(s["ordinary_count"]),
        "premium_ca": fr_euros(premium_ca),
        "ordinary_ca": fr_euros(ordinary_ca),
        "premium_share_ca": fr_percent(premium_ca, premium_ca + ordinary_ca),
        "ordinary_share_ca": fr_percent(ordinary_ca, premium_ca + ordinary_ca),
        "premium_share_count": fr_percent(s["premium_count"], s["products"]),
        "ordinary_share_count": fr_percent(s["ordinary_count"], s["products"]),
        "mean": fr_euros(s["price"]["mean"]),
        "std": fr_euros(s["price"]["std"]),
        "cutoff": fr_euros(s["price"]["premium_cutoff_eur"]),
        "z": fr_number(s["z_threshold"], 0 if float(s["z_threshold"]).is_integer() else 1),
        "checks": q["checks"],
        "passed": q["passed"],
        "warnings": q["warnings"],
        "errors": q.get("errors", 0),
        "by_family": Counter(r["family"] for r in q["results"]),
    }


def footer(facts: RunFacts) -> str:
    return f"BottleNeck · COPIL · {period_fr(facts.period)}"


def data_source(facts: RunFacts) -> str:
    return SOURCE_SAMPLE if facts.from_sample else SOURCE_REAL


def retry_text(model: Lineage) -> str:
    """'3 tentatives, délai croissant de 10 s à 2 min' from the tasks' retry blocks."""
    if not model.retries:
        return "aucune relance configurée"
    common = Counter(json.dumps(r, sort_keys=True) for r in model.retries).most_common(1)[0][0]
    retry = json.loads(common)

    def duration(text: str) -> str:
        match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", str(text))
        if not match:
            return str(text)
        h, mi, se = (int(x or 0) for x in match.groups())
        return " ".join(
            p for p in (f"{h}{NBSP}h" if h else "", f"{mi}{NBSP}min" if mi else "", f"{se}{NBSP}s" if se else "") if p
        )

    attempts = retry.get("maxAttempts", "?")
    if retry.get("type") == "exponential":
        return f"{attempts} tentatives, délai croissant de {duration(retry.get('interval'))} à {duration(retry.get('maxInterval'))}"
    return f"{attempts} tentatives, toutes les {duration(retry.get('interval'))}"


# ------------------------------------------------------------------------ slide by slide ----


def title_slide(facts: RunFacts) -> dict:
    return {
        "title": "Rapport mensuel de chiffre d'affaires :\nautomatisé et contrôlé",
        "subtitle": "BottleNeck · Comité de pilotage · Démonstration Kestra",
        "source": f"Chiffres issus d'une exécution réelle du pipeline : {period_fr(facts.period)}, {data_source(facts)}",
        "notes": (
            "Objet : montrer au COPIL l'automatisation du rapport mensuel de chiffre d'affaires (CA) avec Kestra, "
            "et lui demander quatre décisions.\n"
            f"Les chiffres de cette présentation viennent d'une vraie exécution du pipeline : période "
            f"{period_fr(facts.period)}, exécution {facts.summary['run_id']}, {data_source(facts)}.\n"
            "Déroulé (20 min) : besoin, Kestra en mots simples, workflow, démonstration, contrôles, robustesse, "
            "résultats, risques, décisions, suite."
        ),
    }


def context_slide(facts: RunFacts) -> dict:
    removed = facts.summary.get("removed_rows", {})
    details = "; ".join(
        f"{table} : " + ", ".join(f"{n} × {REMOVAL_REASONS.get(reason, reason)}" for reason, n in reasons.items())
        for table, reasons in removed.items()
    )
    sources = ", ".join(
        f"{s['file']} ({plural(s['rows'], 'ligne')})" for s in facts.summary.get("sources", {}).values()
    )
    return {
        "title": "Le besoin : un rapport juste, chaque mois",
        "bullets": [
            ("Chaque mois : ", "le chiffre d'affaires par produit et le total (Excel)"),
            ("Pour les responsables produit : ", "la liste des vins premium et celle des vins ordinaires"),
            ("Aujourd'hui : ", "trois fichiers (ERP, site web, table de liaison) croisés à la main"),
            ("Les risques : ", "doublons, prix manquants, jointure ratée… et un rapport faux envoyé"),
        ],
        "notes": (
            "Le besoin est récurrent : chaque mois, le CA par produit et le CA total, plus deux listes pour les "
            "responsables produit (vins premium et vins ordinaires).\n"
            f"Trois fichiers à croiser : {sources}. La méthode de nettoyage et de rapprochement a été définie par "
            "le data analyst.\n"
            "Aujourd'hui c'est manuel : copier-coller, formules, risque d'oubli et d'erreur, et personne ne vérifie "
            "systématiquement avant l'envoi.\n"
            f"Ce qu'il a fallu écarter ce mois-ci avant de calculer (lignes retirées par motif) : {details}."
        ),
    }


def kestra_slide(model: Lineage, facts: RunFacts) -> dict:
    schedule = schedule_of(model)
    channels = ", ".join(channel_names(model)) or "journal"
    return {
        "title": "Kestra en mots simples",
        "rows": [
            ("Concept", "En clair", "Comme…"),
            ("Flow", "la suite complète des étapes du mois", "une recette"),
            ("Tâche", "une étape : lire, nettoyer, calculer", "une ligne de la recette"),
            ("Subflow", "un flow réutilisable appelé par un autre", "une fiche technique"),
            ("Trigger", f"le lancement automatique, {schedule}, pour le mois précédent", "un réveil"),
            ("Namespace files", "le code et les classeurs du mois, rangés dans Kestra", "un placard partagé"),
            (
                "Retry",
                "on réessaie si la panne est passagère, jamais si les données sont fausses",
                "rappeler si ça sonne occupé",
            ),
            ("Alerting", f"prévenir quand ça casse : {channels}", "l'alarme incendie"),
        ],
        "notes": (
            "Kestra est l'outil d'orchestration choisi par la DSI : il lance les étapes dans l'ordre, garde les "
            "fichiers de chaque exécution, les journaux et l'historique.\n"
            f"Ici : un flow parent {model.flow_id} dans le namespace {model.namespace}, qui appelle un subflow par "
            "étape ; chaque étape appelle son propre subflow de contrôle qualité.\n"
            f"Trigger : {scheduled_month(model, facts.period)}\n"
            f"Retry : {retry_text(model)}, uniquement pour les pannes techniques.\n"
            f"Alerting : branche errors du flow, canaux {channels}."
        ),
    }


def workflow_slide(model: Lineage) -> dict:
    def name(node) -> str:
        return f"{node.title} ({node.lines[-1]})" if node.kind == "test" else node.title

    notes = [
        f"Le workflow complet, dessiné à partir des fichiers du flow {model.flow_id} (même modèle que "
        "docs/lineage.drawio).",
        "Fichiers échangés :",
    ]
    for edge in model.edges:
        if edge.files:
            notes.append(
                f"- {name(model.nodes[edge.source])} → {name(model.nodes[edge.target])} : {', '.join(edge.files)}"
            )
    return {"title": "Le workflow complet", "notes": "\n".join(notes)}


def demo_slide(model: Lineage, facts: RunFacts) -> dict:
    inbox = model.nodes.get("frame-inputs")
    folder = inbox.lines[0].split(":", 1)[-1].strip() if inbox and inbox.lines else "inbox/"
    files = ", ".join(n.title for n in model.of_kind("input"))
    outputs = ", ".join(dict.fromkeys(n.title for n in model.of_kind("deliverable")))
    return {
        "title": "Démonstration",
        "kestra_heading": "Dans Kestra",
        "steps": [
            ("1. ", f"Ouvrir le namespace {model.namespace}"),
            ("2. ", f"Namespace Files : déposer {files} dans {folder}"),
            ("3. ", f"Flow {model.flow_id} : « Execute », choisir la période"),
            ("4. ", "Suivre l'exécution : vue Gantt, onglet Logs"),
            ("5. ", "Onglet Outputs : télécharger le rapport et les extractions"),
        ],
        "local_heading": "En local, sans serveur",
        "local_command": f"bottleneck run\n  --input dossier/\n  --period {facts.period}",
        "local_note": f"Même code, mêmes contrôles ; résultat dans output/{facts.period}/",
        "notes": (
            "Démonstration dans l'interface Kestra (≈ 5 min) :\n"
            f"1. Namespaces > {model.namespace}.\n"
            f"2. Namespace Files > dossier {folder} : glisser {files} (ce sont les fichiers que le lancement "
            "automatique lit).\n"
            f"3. Flows > {model.flow_id} > Execute : saisir la période (AAAA-MM) ; laissée vide, c'est le mois "
            "précédent, comme pour le lancement automatique.\n"
            "4. Gantt : les cinq étapes et leurs contrôles s'enchaînent ; Logs : une ligne par étape, en clair.\n"
            f"5. Outputs : {outputs}.\n"
            "Montrer ensuite une exécution en échec (un fichier avec un doublon de prix) : arrêt au contrôle, "
            "message en français, rien de publié.\n"
            "Sans serveur Kestra, la même chaîne se lance en local avec la commande affichée (même code, mêmes "
            "contrôles)."
        ),
    }


def tests_slide(facts: RunFacts, catalogue_size: int) -> dict:
    f = figures(facts)
    by_family = f["by_family"]
    rows = [("Famille de contrôles", "Nombre", "Ce qu'elle empêche")]
    for family in FAMILY_ORDER + tuple(sorted(set(by_family) - set(FAMILY_ORDER))):
        if by_family.get(family):
            name, stops = FAMILY_FR.get(family, (family, ""))
            rows.append((name, str(by_family[family]), stops))
    per_family: dict[str, list[str]] = {}
    for result in facts.quality["results"]:
        per_family.setdefault(result["family"], []).append(result["id"])
    format_checks = f["checks"] - catalogue_size
    notes = [
        f"{plural(f['checks'], 'contrôle')} ont tourné pendant cette exécution : "
        f"{plural(f['passed'], 'réussi')}, {plural(f['warnings'], 'avertissement')} (non bloquants), "
        f"{plural(f['errors'], 'bloquant')}.",
        "Après chaque étape, son subflow de contrôle s'exécute : un contrôle bloquant en échec arrête tout, rien "
        "n'est publié.",
        f"Le catalogue (commande « bottleneck checks ») compte {plural(catalogue_size, 'règle')} ; les autres "
        f"contrôles ({fr_number(max(format_checks, 0))}) vérifient le format de chaque colonne des trois classeurs.",
        "Tests automatiques : pour chaque règle du catalogue, un défaut est planté volontairement dans un petit "
        "jeu de données (doublon de prix, colonne manquante, prix en texte, ventes négatives…) et le contrôle "
        "doit échouer, avec son message en français.",
        "",
        "Détail par famille :",
    ]
    for family, ids in per_family.items():
        notes.append(f"- {FAMILY_FR.get(family, (family,))[0]} : {', '.join(ids)}")
    if facts.quality.get("summary_fr"):
        notes += ["", "Résumé du rapport qualité :", resolve_plural_marks(facts.quality["summary_fr"])]
    return {
        "title": "Les contrôles qualité : ce qu'ils attrapent",
        "rows": rows,
        "summary": (
            f"{plural(f['checks'], 'contrôle')} à chaque exécution · {plural(f['passed'], 'réussi')} · "
            f"{plural(f['warnings'], 'avertissement')} ce mois-ci"
        ),
        "proof": (
            f"Chacune des {fr_number(catalogue_size)} règles du catalogue est mise en échec volontairement "
            "dans les tests automatiques"
        ),
        "notes": "\n".join(notes),
    }


def robustness_slide(model: Lineage) -> dict:
    channels = ", ".join(channel_names(model)) or "journal"
    return {
        "title": "Quand quelque chose casse",
        "bullets": [
            ("Données incorrectes : ", "arrêt immédiat, jamais relancé, message clair au propriétaire du fichier"),
            ("Panne technique : ", f"relance automatique ({retry_text(model)})"),
            ("Alerte : ", f"{channels}, avec l'étape en échec et le lien"),
            ("Arrêt contrôlé : ", "rien n'est publié, le mois précédent reste intact"),
            ("Journaux : ", "une ligne par étape et par contrôle, lisible et archivée"),
        ],
        "notes": (
            "Quatre classes d'échec, chacune avec son code de sortie :\n"
            "- données rejetées (3) : jamais relancé, les mêmes fichiers échoueraient de la même façon ; le message "
            "en français nomme le fichier, la colonne, les lignes et quoi corriger ; on corrige et on relance le mois ;\n"
            f"- panne technique (4) : DuckDB verrouillé, disque plein, dossier inaccessible ; relancé automatiquement "
            f"({retry_text(model)}) ;\n"
            "- bug (1) : arrêt, trace technique pour l'équipe data ;\n"
            "- succès (0) : le dossier du mois est publié d'un seul coup.\n"
            f"L'alerte (branche errors du flow) part par : {channels}, avec l'étape en échec et le lien vers "
            "l'exécution.\n"
            "Rien n'est publié en cas d'échec ; le rapport du mois précédent reste intact ; les preuves sont gardées "
            "(journal, rapport qualité)."
        ),
    }


def comparison_line(facts: RunFacts) -> str:
    """The month-over-month comparison in one sentence, or that there is none."""
    c = facts.comparison
    if c is None:
        return "Pas de mois précédent publié : pas de comparaison ce mois-ci."
    ca = fr_signed(c["ca_change"], 2, "€")
    if c.get("ca_change_pct") is not None:
        ca = f"{fr_signed(c['ca_change_pct'], 2, '%')} ({ca})"
    entered, left = c.get("premium_entered") or [], c.get("premium_left") or []
    text = (
        f"Par rapport à {period_fr(c['previous_period'])} ({fr_euros(c['previous_ca_total'])}) : CA {ca}, "
        f"produits {fr_signed(c['products_change'], 0)} ; premium : {plural(len(entered), 'vin entré')}, "
        f"{plural(len(left), 'vin sorti')}."
    )
    if c.get("year_ago_period") and c.get("year_ago_ca_change_pct") is not None:
        text += f" Sur un an ({period_fr(c['year_ago_period'])}) : CA {fr_signed(c['year_ago_ca_change_pct'], 2, '%')}."
    return text


def comparison_notes(facts: RunFacts) -> str:
    c = facts.comparison
    if c is None:
        return "Aucun mois n'a été publié avant celui-ci : la comparaison commencera au mois suivant."
    names = c.get("names") or {}

    def named(ids: list) -> str:
        return ", ".join(f"{names.get(str(i), i)} ({i})" for i in ids) or "aucun"

    return (
        f"Vins entrés en premium : {named(c.get('premium_entered') or [])}.\n"
        f"Vins sortis du premium : {named(c.get('premium_left') or [])}."
    )


def results_slide(facts: RunFacts) -> dict:
    f = figures(facts)
    s = facts.summary
    stages = " ; ".join(
        f"{STAGE_LABELS.get(name, name)} {fr_number(v['rows_in'])} → {plural(v['rows_out'], 'ligne')}"
        for name, v in s["stages"].items()
    )
    return {
        "title": f"Résultats de {f['period_fr']}",
        "cards": [
            ("CA total", f["ca_total"], "prix ERP × quantité vendue en ligne"),
            (
                "Produits vendus en ligne",
                f["products"],
                f"{f['premium_count']} premium, {f['ordinary_count']} ordinaires",
            ),
            ("Vins premium", plural(s["premium_count"], "vin"), f"{f['premium_ca']} de CA ({f['premium_share_ca']})"),
            (
                "Vins ordinaires",
                plural(s["ordinary_count"], "vin"),
                f"{f['ordinary_ca']} de CA ({f['ordinary_share_ca']})",
            ),
        ],
        "comparison": comparison_line(facts),
        "prices": (
            f"Prix moyen {f['mean']} · écart-type {f['std']}\nPremium au-delà de {f['cutoff']} (z-score > {f['z']})"
        ),
        "chart_title": "Premium et ordinaires : part des vins et du CA",
        "chart_categories": ["Nombre de vins", "Chiffre d'affaires"],
        "chart_series": ("Premium", "Ordinaires"),
        "notes": (
            f"Résultats de l'exécution {s['run_id']} ({f['period_fr']}), lus dans run_summary.json et les "
            "extractions. Le lancement automatique du 15 produit ce rapport pour le mois précédent.\n"
            f"CA total {f['ca_total']} sur {plural(s['products'], 'produit')}.\n"
            f"Premium : {plural(s['premium_count'], 'vin', 'vins')}, {f['premium_ca']} ({f['premium_share_ca']} du CA, "
            f"{f['premium_share_count']} des vins). Ordinaires : {plural(s['ordinary_count'], 'vin')}, "
            f"{f['ordinary_ca']}.\n"
            f"Prix moyen {f['mean']}, écart-type {f['std']} (population) : un vin est premium quand son z-score "
            f"dépasse {f['z']}, soit un prix supérieur à {f['cutoff']}.\n"
            f"{comparison_line(facts)}\n{comparison_notes(facts)}\n"
            f"Volumes par étape : {stages}."
        ),
    }


def top_products_slide(facts: RunFacts) -> dict:
    notes = ["Les 10 produits au plus fort chiffre d'affaires (prix × quantité vendue) :"]
    notes += [
        f"{i}. {w.name} (produit {w.product_id}, {'premium' if w.premium else 'ordinaire'}) : "
        f"{fr_euros(w.revenue)}, prix {fr_euros(w.price)}"
        for i, w in enumerate(facts.top(10), 1)
    ]
    return {
        "title": "Top 10 des produits par chiffre d'affaires",
        "series": "CA (€)",
        "legend": PREMIUM_MARK,
        "notes": "\n".join(notes),
    }


# ---------------------------------------------------------------------- risks, decisions ----


def owner(source_file: str | None) -> str:
    return OWNERS.get(source_file, OWNERS[None])


def standing_risks(facts: RunFacts) -> list[tuple[str, str | None]]:
    """(risk, workbook) of the risks every month carries, whatever the run found."""
    drift = facts.drift_thresholds()
    net = f" (CA ± {drift['ca']}, produits perdus > {drift['products']})" if drift["ca"] and drift["products"] else ""
    return [
        (
            "Un seul prix faux dans l'ERP déplace la moyenne et l'écart-type, donc les z-scores : des vins peuvent "
            "changer de classe",
            "erp.xlsx",
        ),
        (
            f"Un export incomplet ou du mauvais mois : l'alerte de dérive{net} est le filet ; vérifier avant de "
            "diffuser",
            None,
        ),
    ]


def risks_slide(facts: RunFacts) -> dict:
    warnings = facts.warnings
    rows = [("Point d'attention", "Fichier", "Qui agit")]
    for warning in warnings[:MAX_WARNING_ROWS]:
        rows.append((warning.short_text(), warning.source_file or "—", owner(warning.source_file)))
    if len(warnings) > MAX_WARNING_ROWS:
        more = len(warnings) - MAX_WARNING_ROWS
        rows.append((f"Et {plural(more, 'autre avertissement')} : voir rapport_qualite.html", "—", OWNERS[None]))
    if not warnings:
        rows.append(("Aucun avertissement ce mois-ci", "—", "—"))
    standing = [("Risque permanent", "Fichier", "Qui agit")]
    standing += [(text, file or "—", owner(file)) for text, file in standing_risks(facts)]
    notes = [f"Ce mois-ci : {plural(len(warnings), 'avertissement')} (non bloquants : le mois est publié)."]
    notes += [
        f"- {w.id} ({w.source_file or 'pipeline'}, {owner(w.source_file)}) : {resolve_plural_marks(w.message)}"
        for w in warnings
    ]
    notes += [
        "",
        "Qui agit : l'équipe ERP pour les prix et le stock (erp.xlsx), l'équipe web / e-commerce pour les sku et "
        "les ventes (web.xlsx), l'équipe data pour le pipeline ; le propriétaire de liaison.xlsx reste à désigner.",
        "Risques permanents : le z-score dépend de tous les prix (un prix faux, par exemple 10 fois trop grand, "
        "déplace le seuil premium) ; l'alerte de dérive compare chaque mois au précédent et demande une "
        "vérification avant diffusion, sans jamais bloquer.",
    ]
    return {
        "title": "Risques et points d'attention",
        "heading": f"Ce mois-ci : {plural(len(warnings), 'avertissement')} (non bloquants)",
        "rows": rows,
        "standing": standing,
        "notes": "\n".join(notes),
    }


def decisions_slide(facts: RunFacts, model: Lineage) -> dict:
    ceiling = facts.lost_sales_ceiling()
    ceiling_text = f"{fr_number(ceiling * 100, 0 if (ceiling * 100).is_integer() else 1)}{NBSP}%" if ceiling else ""
    drift = facts.drift_thresholds()
    files = [s["file"] for s in facts.summary.get("sources", {}).values()] or list(FILE_CONTENTS)
    owners = " ; ".join(f"{file} → {owner(file)}" for file in files)
    schedule = schedule_of(model)
    decisions = [
        (
            "Plafond de ventes perdues : ",
            f"valider {ceiling_text} des unités et du CA ; au-delà, le mois est arrêté et rien n'est publié",
        ),
        (
            "Alerte de dérive : ",
            f"valider les seuils, {drift['ca'] or '?'} de variation du CA et {drift['products'] or '?'} de "
            "produits perdus d'un mois sur l'autre (un avertissement, jamais un arrêt)",
        ),
        ("Propriétaires des fichiers : ", f"confirmer {owners}"),
        ("Mise en service : ", f"autoriser le lancement automatique {schedule} (rapport du mois précédent)"),
    ]
    notes = [
        "Quatre décisions pour passer en production :",
        f"- le plafond de ventes perdues ({ceiling_text}) : la part des ventes du site qui peut manquer au rapport "
        "(sku absent de la table de liaison, prix inconnu) avant que le mois soit arrêté ;",
        f"- les seuils de l'alerte de dérive ({drift['ca'] or '?'} pour le CA, {drift['products'] or '?'} pour les "
        "produits) : au-delà, un avertissement demande de vérifier les exports avant de diffuser ;",
        "- un propriétaire par fichier source, qui corrige à la source ce que les contrôles signalent : "
        + "; ".join(f"{file} ({FILE_CONTENTS.get(file, 'fichier source')}) → {owner(file)}" for file in files)
        + " ;",
        f"- la mise en service : {scheduled_month(model, facts.period)}",
    ]
    return {"title": "Décisions demandées au COPIL", "bullets": decisions, "notes": "\n".join(notes)}


def next_steps_slide(facts: RunFacts, model: Lineage) -> dict:
    schedule = schedule_of(model)
    channels = french_list(channel_names(model, optional_only=True))
    warnings = len(facts.warnings)
    return {
        "title": "Prochaines étapes",
        "bullets": [
            ("Installer ", "sur le serveur Kestra de la DSI et faire un premier mois réel"),
            (
                "Brancher les alertes ",
                f"{channels} et choisir qui les reçoit" if channels else "et choisir qui les reçoit",
            ),
            ("Lancement automatique : ", f"{schedule}, pour le mois précédent"),
            ("Faire corriger ", "à la source les avertissements, par le propriétaire de chaque fichier"),
            ("Suivre ", "chaque mois le rapport qualité et la comparaison avec le mois précédent"),
        ],
        "notes": (
            "Ce qui reste à faire pour passer en production :\n"
            "- déployer les flows et le code sur le serveur Kestra de la DSI (scripts/deploy.py, voir "
            "docs/DEPLOY.md) ; le pipeline n'a pas encore tourné sur un serveur Kestra, seulement en local et dans "
            "les tests ;\n"
            f"- activer les alertes {channels} (secrets et clés dans Kestra) et choisir les destinataires ;\n"
            f"- {scheduled_month(model, facts.period)}\n"
            f"- {plural(warnings, 'avertissement')} ce mois-ci : des corrections à faire dans les fichiers sources "
            "(détail dans le rapport qualité, propriétaires sur la diapositive des risques) ;\n"
            "- chaque mois : rapport qualité HTML (rapport_qualite.html) pour suivre les volumes, les contrôles et "
            "la comparaison avec le mois précédent."
        ),
    }
