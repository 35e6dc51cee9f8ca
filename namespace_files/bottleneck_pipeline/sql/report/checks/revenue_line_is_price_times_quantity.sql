-- report/checks/revenue_line_is_price_times_quantity: report lines whose CA is not price x
--        quantity sold (offending rows; empty = pass).
-- gate: report.revenue.line_is_price_times_quantity (error)
-- why: each line's CA is what a manager reads per wine; it must be the exact product of the ERP
--      price and the web units, in decimals (no float rounding).
-- grain: one row per report line where revenue_eur is distinct from price_eur x quantity_sold
--        (a missing CA included).
-- input: revenue (the report stage's output)
with report_lines as (
    select product_id, price_eur, quantity_sold, revenue_eur from revenue
),

wrong_lines as (
    select product_id, price_eur, quantity_sold, revenue_eur
    from report_lines
    where revenue_eur is distinct from price_eur * quantity_sold
)

select * from wrong_lines order by product_id
