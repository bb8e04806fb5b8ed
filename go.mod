module github.com/funcauth/funcauth

go 1.26
