-- classify/checks/premium_above_threshold: premium wines whose z-score, recomputed from their
--        price, is not above the threshold (offending rows; empty = pass).
-- gate: classify.premium.above_threshold (error)
-- why: vins_premium.csv is what finance and the product managers read as the premium wines; a
--      wine at or below the cut-off does not belong there. Premium is z > threshold, strictly.
-- grain: one row per wine of the premium extract with z_recalcule <= threshold + tolerance.
-- inputs: revenue (the report: every wine's exact price), premium (the French extract)
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

premium_wines as (
    select product_id, price_eur, z_score from premium
),

recomputed as (
    select
        premium_wines.product_id,
        premium_wines.price_eur,
        premium_wines.z_score,
        case when std = 0 then 0 else (price_eur::double - mean) / std end as z_recalcule
    from premium_wines
    cross join price_stats
),

not_above as (
    select * from recomputed
    where not (z_recalcule > getvariable('z_threshold') + getvariable('z_tolerance'))
)

select * from not_above order by product_id
