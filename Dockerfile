# The operator's image, for those who build with Docker. `go tool task image` builds the
# same image without Docker (hack/image): one static binary, run as user 65532.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /cert-manager-msp ./cmd/cert-manager-msp

FROM scratch
COPY --from=build /cert-manager-msp /cert-manager-msp
USER 65532:65532
ENTRYPOINT ["/cert-manager-msp"]
