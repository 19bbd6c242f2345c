# A test certificate authority and certificates it signs, for HTTPS
# servers on loopback or lab addresses (sourced; openssl only).
#
#   testca_new DIR NAME          DIR/NAME.pem and DIR/NAME.key: a CA
#   testca_cert DIR CA NAME IP   DIR/NAME.pem and DIR/NAME.key: a server
#                                certificate for IP (its subjectAltName)
#                                signed by CA
testca_new() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj "/CN=$2 test CA" -keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}
testca_cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=$4" -keyout "$1/$3.key" -out "$1/$3.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:%s\n' "$4" >"$1/$3.ext" &&
	openssl x509 -req -in "$1/$3.csr" -CA "$1/$2.pem" -CAkey "$1/$2.key" \
	    -CAcreateserial -days 2 -extfile "$1/$3.ext" -out "$1/$3.pem" 2>/dev/null
}
