-- classify/checks/zscore_recomputed: extract rows whose z-score differs from an independent
--        recomputation from the wine's price (offending rows; empty = pass).
-- gate: classify.zscore.recomputed (error)
-- why: the extracts print each wine's z-score next to its price; a wrong or empty one must not
--      be published, and a wrong one may also have put the wine on the wrong side.
-- grain: one row per (wine, extract) whose z_score is empty or further from z_recalcule than the
--        extract's tolerance: half a unit of the 2nd decimal in the French extracts (printed
--        rounded), float noise in machine/ (full precision).
-- inputs: revenue (the report: every wine's exact price); premium, ordinary (the French extracts);
--         premium_machine, ordinary_machine (the machine/ extracts; empty stand-ins when they were
--         not handed to the gate)
-- parameters: getvariable('z_printed_tolerance'), getvariable('z_tolerance')
-- rule: population standard deviation; 0 when every price is equal, then z = 0 for every wine
--       (decided on the exact prices: a float stddev_pop of equal prices can be 1e-15, not 0).
with price_stats as (
    select
        avg(price_eur::double) as mean,
        case when min(price_eur) = max(price_eur) then 0 else stddev_pop(price_eur::double) end as std
    from revenue
),

extracted as (
    select product_id, price_eur, z_score, getvariable('z_printed_tolerance') as tolerance, 'premium' as fichier
    from premium
    union all
    select product_id, price_eur, z_score, getvariable('z_printed_tolerance') as tolerance, 'ordinary' as fichier
    from ordinary
    union all
    select product_id, price_eur, z_score, getvariable('z_tolerance') as tolerance, 'premium_machine' as fichier
    from premium_machine
    union all
    select product_id, price_eur, z_score, getvariable('z_tolerance') as tolerance, 'ordinary_machine' as fichier
    from ordinary_machine
),

recomputed as (
    select
        extracted.product_id,
        extracted.fichier,
        extracted.z_score,
        case when std = 0 then 0 else (price_eur::double - mean) / std end as z_recalcule,
        extracted.tolerance
    from extracted
    cross join price_stats
),

mismatches as (
    select product_id, fichier, z_score, z_recalcule
    from recomputed
    where not coalesce(abs(z_score - z_recalcule) <= tolerance, false)
)

select * from mismatches order by product_id, fichier
