-- hash_bucket() gives the documented buckets on every adapter: int(md5('<salt>:<value>')
-- [:8], 16) % 100, reference values computed in Python with salt 'flywheel'. A different
-- bucket on some database would move users in or out of the holdout. Returns mismatches.

with

reference_values as (
    select
        reference.user_id,
        reference.expected_bucket
    from (
        values
        ('u1', 65),
        ('u12', 10),
        ('u13', 3),
        ('u20', 96),
        ('u24', 99)
    ) as reference (user_id, expected_bucket)
),

final as (
    select
        user_id,
        expected_bucket,
        {{ hash_bucket('user_id', 100, 'flywheel') }} as actual_bucket
    from reference_values
)

select * from final
where actual_bucket <> expected_bucket
