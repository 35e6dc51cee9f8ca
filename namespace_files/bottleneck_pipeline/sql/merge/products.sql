-- merge/products: the products sold on the web with their ERP price, through the link table.
-- grain: one row per product_id (and per sku: the merge gate checks both, and that the row
--        count equals what the keys predict).
-- keys: product_id (ERP <-> link), sku (link <-> web), compared as text.
-- input: clean_erp, clean_liaison, clean_web (kept rows only)
-- rule: inner joins; what does not match on either side is an orphan, counted by the gate.
with erp as (
    select * from clean_erp
),

links as (
    select product_id, sku from clean_liaison
),

web as (
    select sku, quantity_sold, product_name, source_row from clean_web
),

erp_linked as (
    select
        erp.product_id,
        links.sku,
        erp.price_eur,
        erp.onsale_web,
        erp.stock_quantity,
        erp.stock_status,
        erp.source_row as erp_row
    from erp
    inner join links on links.product_id = erp.product_id
),

products as (
    select
        erp_linked.product_id,
        erp_linked.sku,
        web.product_name,
        erp_linked.price_eur,
        web.quantity_sold,
        erp_linked.onsale_web,
        erp_linked.stock_quantity,
        erp_linked.stock_status,
        erp_linked.erp_row,
        web.source_row as web_row
    from erp_linked
    inner join web on web.sku = erp_linked.sku
)

select * from products order by product_id
