module tpm-quote/packaging/launcher

go 1.22
