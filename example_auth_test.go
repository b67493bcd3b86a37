package herald_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/heraldhq/herald"
)

// Authenticating every protocol with JWTs and limiting what each user
// may do: the token's "roles" claim picks permissions from the table.
func ExampleNewJWTAuthenticator() {
	secret := []byte("an HS256 secret of 32 bytes or more!")
	auth, err := herald.NewJWTAuthenticator(herald.JWTOptions{
		Algorithms: []string{"HS256"},               // RS256/ES256 with KeyFiles or JWKSFile
		Secrets:    map[string][]byte{"k1": secret}, // or SecretFiles
		Audience:   "my-app",
		Cookie:     "session_token", // browsers: same-origin or explicitly allowed origins only
		Roles: map[string]herald.Permissions{
			"reader": {Subscribe: []string{"news/#"}},
		},
	})
	if err != nil {
		panic(err)
	}
	srv := herald.New(herald.Options{Authenticator: auth})
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	ctx := context.Background()

	// No token: the handshake is refused with 401.
	_, resp, _ := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	fmt.Println("without a token:", resp.StatusCode)

	// A token from the application's login (here signed on the spot).
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "ada", "aud": "my-app", "roles": []string{"reader"},
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "k1"
	signed, _ := tok.SignedString(secret)
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"herald.v1"},
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + signed}},
	})
	if err != nil {
		panic(err)
	}
	defer c.CloseNow()
	for _, topic := range []string{"news/today", "billing/ada"} {
		c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"`+topic+`"}}`))
		_, reply, _ := c.Read(ctx)
		fmt.Println(topic+":", strings.Contains(string(reply), `"result"`))
	}
	// Output:
	// without a token: 401
	// news/today: true
	// billing/ada: false
}
