-- clean/checks/erp_stock_status_consistent: ERP products whose stock status contradicts their
--        stock quantity (offending rows; empty = pass).
-- gate: clean.erp.stock_status_consistent (warn)
-- why: 'instock' with no bottle, or 'outofstock' with bottles, is an ERP entry to correct; it
--      does not change the revenue, hence a warning.
-- grain: one row per cleaned ERP row; 'instock' needs stock_quantity > 0, 'outofstock' needs
--        stock_quantity <= 0.
-- input: erp (the cleaned ERP rows: product_id, stock_quantity, stock_status, source_row)
with stock as (
    select source_row, product_id, stock_quantity, stock_status from erp
),

contradictions as (
    select source_row as ligne, product_id, stock_quantity, stock_status
    from stock
    where (stock_status = 'instock' and stock_quantity <= 0)
        or (stock_status = 'outofstock' and stock_quantity > 0)
)

select * from contradictions
