-- report/checks/revenue_no_negative_values: report lines with a negative price, quantity or CA
--        (offending rows; empty = pass).
-- gate: report.revenue.no_negative_values (error)
-- why: the report stage called alone receives products that did not necessarily pass the merge
--      gate; a negative figure would reduce the published CA.
-- grain: one row per report line with price_eur, quantity_sold or revenue_eur below zero.
-- input: revenue (the report stage's output)
with report_lines as (
    select product_id, price_eur, quantity_sold, revenue_eur from revenue
),

negative_lines as (
    select product_id, price_eur, quantity_sold, revenue_eur
    from report_lines
    where price_eur < 0 or quantity_sold < 0 or revenue_eur < 0
)

select * from negative_lines order by product_id
