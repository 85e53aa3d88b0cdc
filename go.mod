module github.com/voxgate/voxgate

go 1.26
