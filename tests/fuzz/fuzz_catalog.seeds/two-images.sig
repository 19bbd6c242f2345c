untrusted comment: verify with t.pub
RWS6h350hYIzdXZHbu4FbDW3gOUjrgR0rrhKVfGJdAhhbp02srE/KkrH1auciiYWlLuPtSFxl1W1XVwAKY/VjYeQpL5+sX1E0wk=
castiron-catalog 1
# a comment
serial = 42

[image debian12]
url = https://images.example.net/debian12.img.zst
sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
bmap = https://images.example.net/debian12.bmap
bmap_sha256 = bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
min_disk = 2147483648
built_at = 2026-12-01T12:00:00Z

[image tiny]
url = file:///srv/tiny.raw
sha256 = cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
built_at = 2026-12-01T12:00:01Z
