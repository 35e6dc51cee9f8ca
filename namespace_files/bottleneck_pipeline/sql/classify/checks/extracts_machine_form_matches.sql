-- classify/checks/extracts_machine_form_matches: wines that differ between the French extracts
--        and their machine/ form (offending rows; empty = pass).
-- gate: classify.extracts.machine_form_matches (error)
-- why: other teams' programs read machine/; it must hold the same wines, prices, quantities and
--      CA as the French files the business reads, and the z-score before rounding.
-- grain: one row per wine missing from either form, or with a sku, name, price, quantity or CA
--        not identical, or a z-score further apart than the French rounding (half a unit of the
--        2nd decimal).
-- inputs: premium, ordinary (French extracts), premium_machine, ordinary_machine (machine/),
--         each pair compared within its file (fichier)
-- parameters: getvariable('z_printed_tolerance')
with french as (
    select 'premium' as fichier, * from premium
    union all by name
    select 'ordinaires' as fichier, * from ordinary
),

machine as (
    select 'premium' as fichier, * from premium_machine
    union all by name
    select 'ordinaires' as fichier, * from ordinary_machine
),

differences as (
    select
        coalesce(french.product_id, machine.product_id) as product_id,
        coalesce(french.fichier, machine.fichier) as fichier
    from french
    full outer join machine on french.fichier = machine.fichier and french.product_id = machine.product_id
    where french.product_id is null or machine.product_id is null
        or french.sku is distinct from machine.sku
        or french.product_name is distinct from machine.product_name
        or french.price_eur is distinct from machine.price_eur
        or french.quantity_sold is distinct from machine.quantity_sold
        or french.revenue_eur is distinct from machine.revenue_eur
        or abs(french.z_score - machine.z_score) > getvariable('z_printed_tolerance')
)

-- a wine listed in both files: premium first
select * from differences order by product_id, fichier desc
