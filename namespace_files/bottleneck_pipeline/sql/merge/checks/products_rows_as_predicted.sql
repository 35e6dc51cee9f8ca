-- merge/checks/products_rows_as_predicted: the (product_id, sku) pairs the three tables' keys
--        can match, computed from the key sets alone (independent of the join SQL).
-- gate: merge.products.rows_as_predicted (error): it compares their count with the merged rows
-- why: a join that loses or duplicates rows changes the CA without any error; the number of
--      products the keys predict is what the merge must give.
-- grain: one row per distinct (product_id, sku) link whose product is in the ERP and whose sku
--        is among the web products.
-- inputs: clean_erp, clean_liaison, clean_web (the merge's inputs)
with links as (
    select product_id, sku from clean_liaison
),

matchable_links as (
    select distinct links.product_id, links.sku
    from links
    where links.product_id in (select product_id from clean_erp)
      and links.sku in (select sku from clean_web)
)

select * from matchable_links
