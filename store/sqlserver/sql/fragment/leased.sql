-- leased is the table variable a leasing statement OUTPUTs into: OUTPUT
-- without INTO fails on a table with an enabled trigger, so the relay never
-- uses it, and the caller reads the rows back in id order.
DECLARE @leased TABLE (
    id          bigint        NOT NULL PRIMARY KEY,
    source      varchar(16)   NOT NULL,
    source_ref  nvarchar(max) NOT NULL,
    agent       nvarchar(400) NOT NULL,
    verb        nvarchar(max) NOT NULL,
    frame       nvarchar(max) NOT NULL,
    attempts    int           NOT NULL,
    enqueued_at datetime2(6)  NOT NULL
);
