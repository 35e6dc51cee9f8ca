-- clean/checks/web_sales_reported: the units and the CA that will reach the report, the other
--        side of the lost sales' shares (one row: units, CA in EUR).
-- gates: clean.web.lost_sales_within_ceiling (error), clean.web.lost_sales (warn): the
--        denominator of both (lost / (reported + lost)), graded by the same ceiling
-- why: a loss is judged by its weight in the month's sales: 13 units of 2,878 is noise, the ten
--      best sellers are 28 % of the CA.
-- grain: one row for the month.
-- inputs: web, liaison, erp (the cleaned rows; their joins are the merge's)
with sold_products as (
    select web.quantity_sold, erp.price_eur
    from web
    join liaison using (sku)
    join erp using (product_id)
),

reported_sales as (
    select coalesce(sum(quantity_sold), 0) as unites,
           coalesce(sum(quantity_sold * price_eur), 0) as ca
    from sold_products
)

select * from reported_sales
