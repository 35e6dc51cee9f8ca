-- report/checks/revenue_one_line_per_product: merged products missing from the report, and report
--        lines duplicated or for no merged product (offending rows; empty = pass).
-- gate: report.revenue.one_line_per_product (error)
-- why: a product missing from the report loses its CA; a line twice, or for an unknown product,
--      adds CA that was never sold.
-- grain: one row per product_id in error, with what is wrong ('absent du rapport', 'en double ou
--        en trop').
-- inputs: products (the report's input), revenue (its output)
with absent_from_report as (
    select product_id, 'absent du rapport' as ecart
    from products
    where product_id not in (select product_id from revenue)
),

duplicated_or_unknown as (
    select product_id, 'en double ou en trop' as ecart
    from revenue
    group by product_id
    having count(*) > 1 or product_id not in (select product_id from products)
),

gaps as (
    select * from absent_from_report
    union all
    select * from duplicated_or_unknown
)

select * from gaps
