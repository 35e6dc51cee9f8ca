-- classify/checks/ordinary_at_or_below_threshold: ordinary wines whose z-score, recomputed from
--        their price, is above the threshold (offending rows; empty = pass).
-- gate: classify.ordinary.at_or_below_threshold (error)
-- why: a premium wine filed with the ordinary ones is missing from the premium list finance and
--      the product managers read. A wine exactly at the threshold is ordinary (premium is z >
--      threshold).
-- grain: one row per wine of the ordinary extract with z_recalcule > threshold + tolerance.
-- inputs: revenue (the report: every wine's exact price), ordinary (the French extract)
-- parameters: getvariable('z_threshold') (--z-threshold), getvariable('z_tolerance') (float noise)
-- rule: z is recomputed here, independently of the stage: population standard deviation; 0 when
--       every price is equal, then z = 0 for every wine (decided on the exact prices: a float
--       stddev_pop of equal prices can be 1e-15, not 0).
with price_stats as (
    select
        avg(price_eur::double) as mean,
        case when min(price_eur) = max(price_eur) then 0 else stddev_pop(price_eur::double) end as std
    from revenue
),

ordinary_wines as (
    select product_id, price_eur, z_score from ordinary
),

recomputed as (
    select
        ordinary_wines.product_id,
        ordinary_wines.price_eur,
        ordinary_wines.z_score,
        case when std = 0 then 0 else (price_eur::double - mean) / std end as z_recalcule
    from ordinary_wines
    cross join price_stats
),

above as (
    select * from recomputed
    where not (z_recalcule <= getvariable('z_threshold') + getvariable('z_tolerance'))
)

select * from above order by product_id
