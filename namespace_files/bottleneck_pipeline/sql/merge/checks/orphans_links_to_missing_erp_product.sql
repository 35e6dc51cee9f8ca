-- merge/checks/orphans_links_to_missing_erp_product: links whose product_id is not in the cleaned
--        ERP (offending rows; empty = pass).
-- gate: merge.orphans.links_to_missing_erp_product (warn)
-- why: the product cannot be priced: if its sku sells, its sales are missing from the CA (counted
--      by the orphan gates); otherwise the link is stale.
-- grain: one row per cleaned link whose product_id the cleaned ERP does not have.
-- inputs: clean_liaison, clean_erp
with links as (
    select product_id, sku from clean_liaison
),

dangling as (
    select product_id, sku
    from links
    where product_id not in (select product_id from clean_erp)
)

select * from dangling order by product_id
