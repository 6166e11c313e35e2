module github.com/tessera-mcu/tessera

go 1.26.8
