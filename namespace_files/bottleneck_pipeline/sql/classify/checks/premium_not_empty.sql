-- classify/checks/premium_not_empty: the month's price statistics (mean, population standard
--        deviation), for the message of a month without any premium wine.
-- gate: classify.premium.not_empty (warn): it fails when the premium extract is empty while the
--       report has wines, and says why with these figures
-- why: a month without premium wine is valid and published, but the business should know whether
--      no price reaches the cut-off (mean + threshold x std) or every price is equal (std = 0).
-- grain: one row for the month.
-- input: revenue (the report: every wine's exact price)
-- rule: as the other classify checks: std is 0 when every price is equal (exact prices).
with price_stats as (
    select
        avg(price_eur::double) as mean,
        case when min(price_eur) = max(price_eur) then 0 else stddev_pop(price_eur::double) end as std
    from revenue
)

select * from price_stats
