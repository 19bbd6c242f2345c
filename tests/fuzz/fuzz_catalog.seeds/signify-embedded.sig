untrusted comment: verify with t.pub
RWS6h350hYIzdSOIx2EoOtAZCc3FyIMiOQyR7CEMWBkieUCURjzZd/1Eawsvgrl1Zz23HzpBe0dISThRSVfHJnQAWArgKpxFcQs=
castiron-catalog 1
serial = 3

[image x]
url = https://example.net/x.img
sha256 = 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881
built_at = 2026-01-02T03:04:05Z
